// Preload for a tally-node process under a benchmark: samples
// process.memoryUsage() every 100 ms and, at exit, writes to $MEMLOG the
// usage 3 s after start (idle), the peak of each field, and the whole sample
// at the RSS peak, in MB. Does nothing unless MEMLOG is set and the process
// runs server.js (so the benchmark process itself is left alone):
//
//   MEMLOG=/tmp/mem.json NODE_OPTIONS="--require ./packages/node/bench/memlog.cjs" \
//     node packages/node/bench/hostile.mjs nokey
const fs = require('node:fs')

if (process.env.MEMLOG && process.argv[1]?.endsWith('server.js')) {
  const peak = {}
  let atPeak = null
  const idle = process.memoryUsage()
  setInterval(() => {
    const m = process.memoryUsage()
    for (const k of Object.keys(m)) peak[k] = Math.max(peak[k] ?? 0, m[k])
    if (!atPeak || m.rss > atPeak.rss) atPeak = m
  }, 100).unref()
  setTimeout(() => Object.assign(idle, process.memoryUsage()), 3000).unref()
  const mb = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v / 1048576)]))
  process.on('exit', () => {
    const out = { idleAt3s: mb(idle), peakEach: mb(peak), atPeakRss: mb(atPeak ?? {}) }
    fs.writeFileSync(process.env.MEMLOG, `${JSON.stringify(out)}\n`)
  })
}
