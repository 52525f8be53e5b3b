#!/usr/bin/env node
// Copies the browser files the page loads from npm packages into public/vendor/ (git-ignored): Chart.js's UMD
// build. Run by wrangler.toml's [build] command (before `wrangler dev` and `wrangler deploy`) and by npm postinstall.
// `--optional` (postinstall): only warn when a package is missing (an install without devDependencies).
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "public", "vendor");
const require = createRequire(join(root, "package.json"));

/** [package, file inside the package's dist folder]. */
const FILES = [
  ["chart.js", "chart.umd.min.js"],
  ["chart.js", "chart.umd.min.js.map"],
];

const optional = process.argv.includes("--optional");
mkdirSync(out, { recursive: true });
let copied = 0;
for (const [pkg, file] of FILES) {
  let dist;
  try {
    dist = dirname(require.resolve(pkg)); // chart.js resolves to dist/chart.cjs
  } catch {
    const why = `vendor: package ${pkg} is not installed (npm install)`;
    if (optional) {
      console.warn(`${why}; the page's charts will be missing`);
      continue;
    }
    console.error(why);
    process.exit(1);
  }
  const from = join(dist, file);
  const to = join(out, file);
  if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) continue;
  copyFileSync(from, to);
  copied++;
}
console.log(`vendor: public/vendor/ up to date (${copied} file${copied === 1 ? "" : "s"} copied)`);
