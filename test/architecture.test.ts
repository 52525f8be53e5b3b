/// <reference types="vite/client" />
/**
 * The layer rules of DESIGN.md, checked on the source text: imports flow one way (each layer imports its own and lower
 * layers only), each layer imports only the packages listed for it, and src/nn and src/data stay pure.
 */
import { describe, expect, test } from "vitest";

const sources = import.meta.glob("../src/**/*.ts", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

function importsOf(text: string): string[] {
  const re = /(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^import\s+["']([^"']+)["']/gm;
  return [...text.matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** Folder of a module path relative to src/ after resolving a relative import. */
function resolve(from: string, spec: string): string {
  if (!spec.startsWith(".")) return spec;
  const parts = from.split("/").slice(0, -1);
  for (const p of spec.split("/")) {
    if (p === "..") parts.pop();
    else if (p !== ".") parts.push(p);
  }
  return parts.join("/");
}

/**
 * What each layer (a folder, or a module such as src/config.ts) may import: its own and lower layers, and these
 * packages. The numeric core and the data layer import no package at all; storage and training know zod (to validate
 * what they read and the run spec) but neither Hono nor the platform's modules; HTTP lives in src/routes and src/app.ts.
 */
const allowed: Record<string, { layers: string[]; packages: string[] }> = {
  "src/nn": { layers: ["src/nn"], packages: [] },
  "src/data": { layers: ["src/nn", "src/data"], packages: [] },
  // The compiled WebAssembly modules, as the Worker imports them (Node scripts read the files themselves): the dense
  // kernels (src/nn takes the module) and the augmentation's elastic field (src/data takes it; src/kernels installs it).
  "src/kernels": { layers: ["src/nn", "src/data", "build/kernels.wasm", "build/distort.wasm"], packages: [] },
  "src/storage": { layers: ["src/nn", "src/data", "src/kernels", "src/storage", "src/env", "src/errors"], packages: [] },
  "src/config": { layers: ["src/nn", "src/data", "src/storage", "src/training", "src/env"], packages: ["zod"] },
  "src/training": { layers: ["src/nn", "src/data", "src/kernels", "src/storage", "src/training", "src/config", "src/env", "src/errors"], packages: ["zod"] },
  "src/routes": {
    // data/handwriting: the real handwriting GET /v1/handwriting serves, bundled as JSON.
    layers: ["src/nn", "src/data", "src/kernels", "src/storage", "src/training", "src/config", "src/routes", "src/env", "src/errors", "data/handwriting"],
    packages: ["hono", "@hono/zod-openapi", "zod"],
  },
  "src/client": { layers: ["src/app"], packages: ["hono"] },
};

/** A package import's package name: "hono/cors" → "hono", "@hono/zod-openapi/x" → "@hono/zod-openapi". */
const packageOf = (spec: string): string => spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/");

/** The layer a source file belongs to: its folder's, or its own as a top-level module. */
const layerOf = (path: string): string | undefined => Object.keys(allowed).find((d) => path.startsWith(d + "/") || path === d + ".ts");

const files = Object.entries(sources).map(([path, text]) => [path.replace(/^\.\.\//, ""), text] as const);

describe("layers", () => {
  test("the glob sees the sources", () => {
    expect(files.some(([p]) => p === "src/nn/network.ts")).toBe(true);
    expect(layerOf("src/config.ts")).toBe("src/config");
  });

  test.each(files.filter(([p]) => layerOf(p) !== undefined))("%s imports only from below it", (path, text) => {
    const dir = layerOf(path)!;
    for (const spec of importsOf(text)) {
      if (!spec.startsWith(".")) {
        expect(allowed[dir].packages, `${path} imports package ${spec}`).toContain(packageOf(spec));
        continue;
      }
      const target = resolve(path, spec);
      expect(allowed[dir].layers.some((a) => target === a || target.startsWith(a + "/")), `${path} imports ${spec}`).toBe(true);
    }
  });

  test("every source file belongs to a layer, but the entry points that compose them (src/app.ts, src/index.ts, src/env.ts, src/errors.ts, src/wasm.d.ts)", () => {
    const entry = ["src/app.ts", "src/index.ts", "src/env.ts", "src/errors.ts", "src/wasm.d.ts"];
    expect(files.map(([p]) => p).filter((p) => layerOf(p) === undefined && !entry.includes(p))).toEqual([]);
  });

  test("src/client.ts imports nothing of the Worker at run time (hono/client only; AppType is a type), so Node and web clients can use it", () => {
    const text = files.find(([p]) => p === "src/client.ts")![1];
    const runtime = [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]);
    expect(runtime).toEqual(["hono/client"]);
  });

  test.each(files.filter(([p]) => p.startsWith("src/nn/") || p.startsWith("src/data/")))("%s is pure: no env, async, Date, Math.random", (path, text) => {
    const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    expect(code).not.toMatch(/\basync\b|\bawait\b/);
    expect(code).not.toMatch(/\bDate\b|Math\.random|performance\.now/);
    expect(code).not.toMatch(/\benv\./);
  });
});
