// Node's socket.io 4 with @socket.io/redis-adapter: a reference point for the live-channel
// benchmarks, with the same connect contract as bench/live_bare_server.py. It checks the
// HS256 signature of the access token with JWT_SECRET and joins the socket to user:<sub>.
//
//   NODE_PATH=bench/node/node_modules PORT=8200 JWT_SECRET=... \
//     node bench/node/server.js --key <redis channel prefix>
"use strict";

const crypto = require("node:crypto");
const http = require("node:http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const key = process.argv[process.argv.indexOf("--key") + 1];
const port = Number(process.env.PORT);
const secret = process.env.JWT_SECRET;
const redisUrl = process.env.REDIS_URL || "redis://127.0.0.1:6379/0";

// Return the token's subject, or null when the signature or the expiry is invalid.
function verify(token) {
  const parts = typeof token === "string" ? token.split(".") : [];
  if (parts.length !== 3) return null;
  const expected = crypto
    .createHmac("sha256", secret)
    .update(`${parts[0]}.${parts[1]}`)
    .digest("base64url");
  if (expected !== parts[2]) return null;
  const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString());
  if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) return null;
  return claims.sub;
}

async function main() {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const server = http.createServer((request, response) => {
    if (request.url === "/health") {
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end('{"status":"ok"}');
    }
  });
  const io = new Server(server, { adapter: createAdapter(pub, sub, { key }) });
  io.on("connection", (socket) => {
    const user = verify(socket.handshake.auth && socket.handshake.auth.token);
    if (user === null) {
      socket.disconnect(true);
      return;
    }
    socket.join(`user:${user}`);
  });
  server.listen(port, "127.0.0.1");
  const stop = () => {
    io.close();
    Promise.all([pub.quit(), sub.quit()]).finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main();
