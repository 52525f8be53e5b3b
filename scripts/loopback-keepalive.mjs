// Preloaded into wrangler dev by `npm start` (node --import): keeps miniflare's loopback server from closing idle
// keep-alive connections.
//
// Why: miniflare 4.20260426 (pinned by wrangler 4.86, the last wrangler for Node 20) serves its loopback with Node's
// default keepAliveTimeout of 5 s. workerd pools those connections; when Node closes an idle one just as workerd
// reuses it, the request fails with "Network connection lost" (cloudflare/workers-sdk#14848, fixed upstream by
// #14850 in later miniflare). The local queue broker logs every batch's "QUEUE … 1/1" line through that loopback
// after the consumer returns and before it clears its pending flush, so a lost log leaves the flush pending forever:
// the queue accepts messages and never delivers another one until wrangler dev restarts. Steps of about 5 s on a
// busy machine hit that race (see `npm run stress:chain`).
//
// EDGEPROP_LOOPBACK_KEEPALIVE_MS sets another idle timeout (5000 is miniflare's stock behaviour; the stress script
// uses it to show the wedge).
import http from "node:http";

const keepAliveMs = Number(process.env.EDGEPROP_LOOPBACK_KEEPALIVE_MS ?? 0);
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
