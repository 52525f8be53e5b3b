#!/usr/bin/env node
// Compiles the WebAssembly SIMD modules (AssemblyScript) ahead of time: assembly/kernels.ts (the float32 dense
// kernels) to build/kernels.wasm and assembly/distort.ts (the augmentation's elastic field) to build/distort.wasm.
// Workers refuse to compile WebAssembly at run time, so the Worker imports the compiled modules (src/kernels.ts) and
// Node scripts read the files. Rebuilds only a module older than its source or this script (`--force`: all). Run by
// npm postinstall, npm test, npm start, npm run bench and wrangler.toml's [build] (before `wrangler dev` and
// `wrangler deploy`); offline once `npm install` has run. Plain SIMD128 only: relaxed SIMD's fused multiply-add may
// round differently per machine.
// `--optional` (postinstall): only warn when AssemblyScript is missing (an install without devDependencies).
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
/** Each module: its AssemblyScript source in assembly/, its output in build/. */
export const MODULES = [
  { source: "kernels.ts", out: "kernels.wasm" },
  { source: "distort.ts", out: "distort.wasm" },
];
/** asc's flags: optimized, SIMD, the memory given by the caller (never grown), no GC runtime, no abort import. */
export const ASC_FLAGS = ["-O3", "--enable", "simd", "--importMemory", "--runtime", "stub", "--noAssert", "--use", "abort="];

const script = statSync(fileURLToPath(import.meta.url)).mtimeMs;
const force = process.argv.includes("--force");
const stale = MODULES.filter(({ source, out }) => {
  const target = join(root, "build", out);
  return force || !existsSync(target) || statSync(target).mtimeMs < Math.max(script, statSync(join(root, "assembly", source)).mtimeMs);
});
if (stale.length === 0) {
  console.log(`build-wasm: ${MODULES.map((m) => `build/${m.out}`).join(", ")} up to date`);
} else {
  mkdirSync(join(root, "build"), { recursive: true });
  let asc;
  try {
    ({ default: asc } = await import("assemblyscript/asc"));
  } catch {
    const why = "build-wasm: assemblyscript is not installed (npm install); the WebAssembly modules cannot be built";
    if (!process.argv.includes("--optional")) throw new Error(why);
    console.warn(why);
    process.exit(0);
  }
  for (const { source, out } of stale) {
    const target = join(root, "build", out);
    const { error, stderr } = await asc.main([join(root, "assembly", source), "-o", target, ...ASC_FLAGS]);
    if (error) {
      console.error(`build-wasm: AssemblyScript failed on assembly/${source}: ${error.message}\n${stderr.toString()}`);
      process.exit(1);
    }
    console.log(`build-wasm: built build/${out} (${statSync(target).size} bytes)`);
  }
}
