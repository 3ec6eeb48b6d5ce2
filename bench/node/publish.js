// Publish bench:tick events through @socket.io/redis-emitter, with the options and the
// output line of bench/live_publish.py. `sentAt` is process.hrtime, which on Linux reads
// CLOCK_MONOTONIC like Python's time.monotonic().
//
//   NODE_PATH=bench/node/node_modules node bench/node/publish.js --channel KEY \
//     --users 100 --phase flat --count 20000 --rate 0
"use strict";

const { Emitter } = require("@socket.io/redis-emitter");
const { createClient } = require("redis");

const EVENT = "bench:tick";

function option(name, fallback) {
  const flag = process.argv.find((arg) => arg.startsWith(`--${name}=`));
  if (flag) return flag.slice(name.length + 3);
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

// The payload of bench/live_publish.py's sample_payload, a `session:set_logged` event.
function samplePayload(userId) {
  return {
    sessionId: String(1000 + userId),
    set: {
      id: "123456",
      clientId: "6f1c2a7e-4d1b-4f0e-9a55-2b8f7f4b9c10",
      exerciseId: "45678",
      order: 3,
      value: 102.5,
      reps: 5,
      restMinutes: 2.5,
      performedAt: "2026-12-04T16:00:00.000000Z",
      exercise: { id: "45678", name: "Bench Press", type: "weight", unit: "kg", order: 1 },
    },
  };
}

async function main() {
  const users = Number(option("users", 100));
  const firstUser = Number(option("first-user", 1));
  const count = Number(option("count", 1000));
  const rate = Number(option("rate", 0));
  const seconds = Number(option("seconds", 60));
  const phase = option("phase", "run");
  const redis = createClient({ url: process.env.REDIS_URL || "redis://127.0.0.1:6379/0" });
  await redis.connect();
  const emitter = new Emitter(redis, { key: option("channel") });
  const payloads = Array.from({ length: users }, (_, index) => samplePayload(firstUser + index));
  const started = now();
  const deadline = started + seconds;
  let sent = 0;
  for (let seq = 0; seq < count; seq++) {
    if (rate > 0) {
      const due = started + seq / rate;
      if (due > deadline) break;
      const delay = due - now();
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay * 1000));
    } else if (now() > deadline) {
      break;
    } else if (seq % 100 === 0) {
      // Let the client write what is queued, so memory stays bounded.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const index = seq % users;
    emitter
      .to(`user:${firstUser + index}`)
      .emit(EVENT, { ...payloads[index], phase, seq, sentAt: now() });
    sent++;
  }
  // Every publish is queued on one connection; PING returns after all of them were sent.
  await redis.ping();
  const elapsed = now() - started;
  await redis.quit();
  process.stdout.write(
    JSON.stringify({
      type: "published",
      mode: "node",
      phase,
      started,
      sent,
      errors: 0,
      seconds: Number(elapsed.toFixed(3)),
      events_per_second: Number((sent / elapsed).toFixed(1)),
    }) + "\n",
  );
}

main();
