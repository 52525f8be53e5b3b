#!/usr/bin/env node
// Compiles the bench's WebAssembly SIMD peak loop (bench/assembly/peak.ts, AssemblyScript) to build/bench-peak.wasm,
// ahead of time as the kernels are (Workers compile no WebAssembly at run time). Run by `npm run bench`; does
// nothing when the output is newer than its source.
import { existsSync, mkdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = fileURLToPath(new URL("assembly/peak.ts", import.meta.url));
const out = fileURLToPath(new URL("../build/bench-peak.wasm", import.meta.url));
/** The kernels' flags (scripts/build-wasm.mjs) but its own memory: the loop touches none. */
const FLAGS = ["-O3", "--enable", "simd", "--runtime", "stub", "--noAssert", "--use", "abort="];

const newest = Math.max(statSync(source).mtimeMs, statSync(fileURLToPath(import.meta.url)).mtimeMs);
if (!existsSync(out) || statSync(out).mtimeMs < newest) {
  mkdirSync(fileURLToPath(new URL("../build/", import.meta.url)), { recursive: true });
  const { default: asc } = await import("assemblyscript/asc");
  const { error, stderr } = await asc.main([source, "-o", out, ...FLAGS]);
  if (error) {
    console.error(`build-peak: AssemblyScript failed: ${error.message}\n${stderr.toString()}`);
    process.exit(1);
  }
}
