'use strict';
// A real Bull queue set plus a real Bull Board, for ops-bot's tests.
//
// Environment:
//   REDIS_URL  redis connection (default redis://127.0.0.1:6379/0)
//   PORT       port to listen on, 127.0.0.1 only (default 0 = pick a free port)
//   QUEUES     comma-separated queue names (default "payments")
//   PREFIX     Bull key prefix (default "bull"); use one per test run to isolate runs
//   BASE_PATH  where Bull Board is mounted (default "/admin/queues")
//
// Once every queue is connected and the server listens, prints one JSON line to stdout:
//   {"port": 12345}
//
// Test-control endpoints (not part of Bull Board):
//   POST /test/jobs     {"queue":"payments","count":3,"fail":true,"reason":"card declined","data":{...}}
//                       -> 201 {"queue":"payments","ids":["1","2","3"]}
//   POST /test/failing  {"fail": false} -> {"failing": false}
//                       while false, the processors complete every job, so a retry succeeds
//   GET  /test/failing  -> {"failing": true|false}
//   GET  /test/counts?queue=payments -> Bull's job counts
//                       {"waiting":0,"active":0,"completed":0,"failed":3,"delayed":0,"paused":0}
// See README.md for Bull Board's own REST routes.

const express = require('express');
const Queue = require('bull');
const { createBullBoard } = require('@bull-board/api');
const { BullAdapter } = require('@bull-board/api/bullAdapter');
const { ExpressAdapter } = require('@bull-board/express');

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';
const PORT = Number.parseInt(process.env.PORT || '0', 10);
const PREFIX = process.env.PREFIX || 'bull';
const BASE_PATH = process.env.BASE_PATH || '/admin/queues';
const QUEUE_NAMES = (process.env.QUEUES || 'payments')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);

// Module-level toggle: while true, jobs whose data says fail:true fail.
let failing = true;

const queues = new Map();
for (const name of QUEUE_NAMES) {
  const queue = new Queue(name, REDIS_URL, { prefix: PREFIX });
  queue.process(async (job) => {
    if (job.data && job.data.fail && failing) {
      throw new Error(job.data.reason || 'job failed');
    }
    return { ok: true, processedAt: Date.now() };
  });
  queue.on('error', (err) => {
    process.stderr.write(`bull queue ${name}: ${err && err.message}\n`);
  });
  queues.set(name, queue);
}

const serverAdapter = new ExpressAdapter();
serverAdapter.setBasePath(BASE_PATH);
createBullBoard({
  queues: [...queues.values()].map((queue) => new BullAdapter(queue)),
  serverAdapter,
});

const app = express();
app.use(BASE_PATH, serverAdapter.getRouter());

const test = express.Router();
test.use(express.json());

function queueOr404(name, res) {
  const queue = queues.get(name);
  if (!queue) {
    res.status(404).json({ error: `unknown queue ${JSON.stringify(name)}` });
    return null;
  }
  return queue;
}

test.post('/jobs', async (req, res, next) => {
  try {
    const body = req.body || {};
    const queue = queueOr404(body.queue || QUEUE_NAMES[0], res);
    if (!queue) return;
    const count = Number.isInteger(body.count) && body.count > 0 ? body.count : 1;
    const ids = [];
    for (let i = 0; i < count; i += 1) {
      const data = {
        ...(body.data && typeof body.data === 'object' ? body.data : {}),
        n: i + 1,
        fail: Boolean(body.fail),
        reason: body.reason || 'job failed',
      };
      const job = await queue.add(data, { attempts: 1 });
      ids.push(String(job.id));
    }
    res.status(201).json({ queue: queue.name, ids });
  } catch (err) {
    next(err);
  }
});

test.get('/failing', (_req, res) => {
  res.json({ failing });
});

test.post('/failing', (req, res) => {
  const body = req.body || {};
  failing = body.fail !== false;
  res.json({ failing });
});

test.get('/counts', async (req, res, next) => {
  try {
    const queue = queueOr404(req.query.queue || QUEUE_NAMES[0], res);
    if (!queue) return;
    res.json(await queue.getJobCounts());
  } catch (err) {
    next(err);
  }
});

app.use('/test', test);

app.use((err, _req, res, _next) => {
  process.stderr.write(`error: ${err && err.stack}\n`);
  res.status(500).json({ error: String(err && err.message) });
});

let server;

async function shutdown(code) {
  const timer = setTimeout(() => process.exit(code), 3000);
  timer.unref();
  try {
    if (server) await new Promise((resolve) => server.close(resolve));
    await Promise.all([...queues.values()].map((queue) => queue.close(true).catch(() => {})));
  } finally {
    process.exit(code);
  }
}

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));

async function main() {
  await Promise.all([...queues.values()].map((queue) => queue.isReady()));
  server = app.listen(PORT, '127.0.0.1', () => {
    process.stdout.write(`{"port": ${server.address().port}}\n`);
  });
  server.on('error', (err) => {
    process.stderr.write(`listen failed: ${err.message}\n`);
    shutdown(1);
  });
}

main().catch((err) => {
  process.stderr.write(`startup failed: ${err && err.stack}\n`);
  shutdown(1);
});
