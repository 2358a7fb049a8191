'use strict';
// Child process of crash_safety.test.ts (and the figure in bench/RESULTS.md): one million
// small ops in a synchronous loop, inside tidy or left to the garbage collector; prints the
// RSS growth, the most live tensors seen, and what is left once the event loop turned.
// Usage: node --expose-gc memory_loop.js tidy|gc [iterations]
const path = require('node:path');
const tn = require(path.join(__dirname, '..', '..', 'dist', 'lib', 'index.js'));

const useTidy = process.argv[2] === 'tidy';
const n = Number(process.argv[3] || 1e6);
const x = tn.ones([4]);
const rss0 = process.memoryUsage().rss;
let peak = rss0;
let maxLive = 0;
const t0 = Date.now();
for (let i = 0; i < n; i++) {
  if (useTidy) tn.tidy(() => { x.add(1).mul(2); });
  else x.add(1).mul(2);
  if (i % 20000 === 0) {
    peak = Math.max(peak, process.memoryUsage().rss);
    maxLive = Math.max(maxLive, tn.memory().liveTensors);
  }
}
peak = Math.max(peak, process.memoryUsage().rss);
const ms = Date.now() - t0;
setTimeout(() => {
  if (global.gc) global.gc();
  setTimeout(() => {
    const MB = 2 ** 20;
    process.stdout.write(JSON.stringify({
      mode: useTidy ? 'tidy' : 'gc', iterations: n, ms, rssStartMB: Math.round(rss0 / MB), rssPeakMB: Math.round(peak / MB),
      grownMB: Math.round((peak - rss0) / MB), maxLive, liveAfter: tn.memory().liveTensors,
    }) + '\n');
  }, 1500);
}, 50);
