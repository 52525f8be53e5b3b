/** `wrangler dev` for the browser tests: the one implementation is scripts/wrangler-dev.ts (npm run bench:edge uses it too). */
export { freePort, ROOT, startWrangler } from "../../scripts/wrangler-dev.ts";
