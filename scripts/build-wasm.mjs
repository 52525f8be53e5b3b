#!/usr/bin/env node
// Compiles the WebAssembly SIMD kernels (assembly/kernels.ts, AssemblyScript) to build/kernels.wasm, ahead of time:
// Workers refuse to compile WebAssembly at run time, so the Worker imports the compiled module (src/kernels.ts) and
// Node scripts read the file. Does nothing when the output is newer than its sources. Run by npm postinstall,
// npm test, npm start and wrangler.toml's [build] (before `wrangler dev` and `wrangler deploy`); offline once
// `npm install` has run. Plain SIMD128 only: relaxed SIMD's fused multiply-add may round differently per machine.
// `--optional` (postinstall): only warn when AssemblyScript is missing (an install without devDependencies).
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const sources = join(root, "assembly");
const out = join(root, "build", "kernels.wasm");
/** asc's flags: optimized, SIMD, the memory given by the caller (never grown), no GC runtime, no abort import. */
export const ASC_FLAGS = ["-O3", "--enable", "simd", "--importMemory", "--runtime", "stub", "--noAssert", "--use", "abort="];

const newest = Math.max(...readdirSync(sources).map((f) => statSync(join(sources, f)).mtimeMs), statSync(fileURLToPath(import.meta.url)).mtimeMs);
if (existsSync(out) && statSync(out).mtimeMs >= newest && !process.argv.includes("--force")) {
  console.log("build-wasm: build/kernels.wasm up to date");
} else {
  mkdirSync(join(root, "build"), { recursive: true });
  let asc;
  try {
    ({ default: asc } = await import("assemblyscript/asc"));
  } catch {
    const why = "build-wasm: assemblyscript is not installed (npm install); the WebAssembly kernels cannot be built";
    if (!process.argv.includes("--optional")) throw new Error(why);
    console.warn(why);
    process.exit(0);
  }
  const { error, stderr } = await asc.main([join(sources, "kernels.ts"), "-o", out, ...ASC_FLAGS]);
  if (error) {
    console.error(`build-wasm: AssemblyScript failed: ${error.message}\n${stderr.toString()}`);
    process.exit(1);
  }
  console.log(`build-wasm: built build/kernels.wasm (${statSync(out).size} bytes)`);
}
