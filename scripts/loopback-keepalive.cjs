// Preloaded (node --require) into wrangler dev by `npm start`, and into vitest by `npm test`: keeps miniflare's
// loopback server from closing idle keep-alive connections. CommonJS, so that --require takes it on any Node 20.
//
// Why: miniflare 4.20260426 (pinned by wrangler 4.86, the last wrangler for Node 20) serves its loopback with Node's
// default keepAliveTimeout of 5 s. workerd pools those connections; when Node closes an idle one and workerd reuses
// it before it has seen the close (a training step keeps workerd's thread busy for seconds), the request fails with
// "Network connection lost" (cloudflare/workers-sdk#14848, fixed upstream by #14850 in later miniflare). The local
// queue broker logs every batch's "QUEUE … 1/1" line through that loopback after the consumer returns and before it
// clears its pending flush, so a lost log leaves the flush pending forever: the queue accepts messages and never
// delivers another one until wrangler dev restarts. `npm run stress:chain -- --loopback-keepalive 5000` shows it.
//
// EDGEPROP_LOOPBACK_KEEPALIVE_MS sets another idle timeout (5000 is miniflare's stock behaviour; the stress script
// uses it to show the wedge).
const http = require("node:http");

const asked = Number(process.env.EDGEPROP_LOOPBACK_KEEPALIVE_MS);
const keepAliveMs = Number.isFinite(asked) && asked >= 0 ? asked : 0;
const createServer = http.createServer;

/** miniflare's loopback server is the one whose request handler is its `#handleLoopback` field. */
const isLoopback = (args) => args.some((a) => typeof a === "function" && a.name === "#handleLoopback");

http.createServer = function patchedCreateServer(...args) {
  const server = createServer.apply(this, args);
  if (isLoopback(args)) {
    server.keepAliveTimeout = keepAliveMs;
    // Local dev: a slow request on a busy machine must not be cut either (0: no limit).
    if (keepAliveMs === 0) server.headersTimeout = server.requestTimeout = 0;
  }
  return server;
};
