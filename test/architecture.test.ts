/// <reference types="vite/client" />
/** The layer rules of DESIGN.md, checked on the source text: imports flow one way and src/nn stays pure. */
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

/** What each layer (a folder, or a module such as src/config.ts) may import. src/config.ts sits with training. */
const allowed: Record<string, string[]> = {
  "src/nn": ["src/nn"],
  "src/data": ["src/nn", "src/data"],
  "src/storage": ["src/nn", "src/data", "src/storage", "src/env", "src/errors"],
  "src/config": ["src/nn", "src/data", "src/storage", "src/training", "src/env"],
  "src/training": ["src/nn", "src/data", "src/storage", "src/training", "src/config", "src/env", "src/errors"],
};

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
      const target = resolve(path, spec);
      if (!spec.startsWith(".")) {
        // Packages: only the HTTP layer and storage may touch the platform or Hono.
        expect(dir === "src/nn" || dir === "src/data" ? `${path} imports package ${spec}` : "ok").toBe("ok");
        continue;
      }
      expect(allowed[dir].some((a) => target === a || target.startsWith(a + "/")), `${path} imports ${spec}`).toBe(true);
    }
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
