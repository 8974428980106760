// Memory of one tally-node under hostile connections, all at once:
//   - 8 connections each declaring a 64 MiB gossip frame and sending 32 MiB,
//   - 600 gossip and 300 HTTP connections drip-feeding one byte a second,
//   - 200,000 fuzzed gossip frames (valid framing, invalid or mutated content)
//     on 8 parallel connections of 50 frames.
// Reports idle RSS, peak RSS (sampled every 100 ms from /proc), their ratio,
// when the slow connections were closed, and /health latency meanwhile.
//
//   node packages/node/bench/hostile.mjs [key|nokey] [inbound budget bytes]
//   (default: key, i.e. --cluster-key set; the node's default budget)
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { get, percentile, rm, startNode, stop, tempDir } from './lib.mjs'

const { encodeFrame } = await import('../dist/wire/frame-codec.js')
const { MsgType } = await import('../dist/wire/messages.js')

const mode = process.argv[2] ?? 'key'
const FRAMES = 200_000
const SLOW_GOSSIP = 600
const SLOW_HTTP = 300
const dir = tempDir()
const extra = mode === 'key' ? ['--cluster-key', 'hostile-bench-key'] : []
if (process.argv[3]) extra.push('--inbound-budget-bytes', process.argv[3])
const node = await startNode('h1', dir, extra)
const rss = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${node.child.pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : 0
}
const mb = (b) => `${(b / 1048576).toFixed(0)} MB`

// Idle: a few seconds after start, with some traffic served.
for (let i = 0; i < 50; i++) await get(`${node.url}/health`)
await new Promise((r) => setTimeout(r, 3000))
let idle = 0
for (let i = 0; i < 10; i++) {
  idle = Math.max(idle, rss())
  await new Promise((r) => setTimeout(r, 100))
}
let peak = idle
const sampler = setInterval(() => {
  peak = Math.max(peak, rss())
}, 100)
const healthMs = []
let probing = true
const prober = (async () => {
  while (probing) {
    const t0 = performance.now()
    await get(`${node.url}/health`)
    healthMs.push(performance.now() - t0)
    await new Promise((r) => setTimeout(r, 100))
  }
})()

const t0 = Date.now()
function connect(port) {
  const s = net.connect(port, '127.0.0.1')
  s.on('error', () => {})
  s.resume() // read (and discard) the HELLO, so the close is seen
  const closed = new Promise((r) => s.on('close', () => r(Date.now() - t0)))
  return { s, closed }
}

// 1. Eight declared 64 MiB frames, 32 MiB sent each.
const big = Array.from({ length: 8 }, async () => {
  const { s, closed } = connect(node.tcp)
  const header = Buffer.alloc(4)
  header.writeUInt32BE(64 * 1024 * 1024, 0)
  const mib = Buffer.alloc(1024 * 1024, 0x61)
  s.write(header)
  for (let i = 0; i < 32 && !s.destroyed; i++) {
    if (!s.write(mib)) {
      if (s.destroyed) break
      await new Promise((r) => s.once('drain', r).once('close', r))
    }
  }
  return closed
})

// 2. Slow connections: one byte a second, gossip and HTTP.
const drips = []
const slow = (port, bytes) => {
  const c = connect(port)
  let i = 0
  const timer = setInterval(() => {
    if (c.s.destroyed || i >= bytes.length) return clearInterval(timer)
    c.s.write(bytes.subarray(i, i + 1))
    i++
  }, 1000)
  c.closed.then(() => clearInterval(timer))
  drips.push(c)
  return c
}
const gossipSlow = []
const httpSlow = []
const dripFrame = Buffer.concat([Buffer.from([0, 0, 0, 200]), Buffer.alloc(200, 1)])
const dripHttp = Buffer.from(`GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ${'y'.repeat(200)}\r\n\r\n`)
for (let i = 0; i < SLOW_GOSSIP; i++) gossipSlow.push(slow(node.tcp, dripFrame).closed)
for (let i = 0; i < SLOW_HTTP; i++) httpSlow.push(slow(node.http, dripHttp).closed)

// 3. Fuzzed frames.
let seed = 20261201
const rand = () => {
  seed = (seed * 16807) % 2147483647
  return seed / 2147483647
}
const int = (n) => Math.floor(rand() * n)
const junk = [null, true, -1, 1.5, 2 ** 60, 'x', '__proto__', [], {}, [[[[[]]]]]]
const pick = (xs) => xs[int(xs.length)]
function fuzzFrame() {
  const msg = pick([
    { t: MsgType.PUSH, f: 'fz', delta: { ranges: [], entries: [['fuzz', 'r.1', -5, 0, 1]] } },
    { t: MsgType.PUSH, f: 'fz', delta: { ranges: 'no', entries: [] } },
    { t: MsgType.PUSH_ACK, f: 'fz', q: int(1000) },
    { t: pick(junk), f: 'fz' },
    { t: MsgType.PUSH, f: pick(junk), delta: pick(junk) },
  ])
  const f = encodeFrame(msg)
  for (let m = int(3); m > 0; m--) f[5 + int(f.length - 5)] = int(256)
  return f
}
let sent = 0
const fuzz = (async () => {
  while (sent < FRAMES) {
    const batch = []
    for (let c = 0; c < 8 && sent < FRAMES; c++) {
      const frames = []
      for (let i = 0; i < 50 && sent < FRAMES; i++, sent++) frames.push(fuzzFrame())
      batch.push(
        new Promise((r) => {
          const s = net.connect(node.tcp, '127.0.0.1', () => s.end(Buffer.concat(frames)))
          s.on('error', r)
          s.on('close', r)
          s.resume()
          s.setTimeout(5000, () => s.destroy())
        }),
      )
    }
    await Promise.all(batch)
  }
})()

await fuzz
console.error(`fuzz done after ${Date.now() - t0} ms; waiting for the slow connections to be closed`)
const bigClosed = await Promise.all(big.map(async (p) => await await p))
const gossipClosed = await Promise.all(gossipSlow)
const httpClosed = await Promise.all(httpSlow)
probing = false
await prober
clearInterval(sampler)
const metrics = await get(`${node.url}/stats`)
await stop([node])
rm(dir)

console.log(
  `mode: ${mode === 'key' ? 'with --cluster-key' : 'without a cluster key'}, inbound budget ${process.argv[3] ?? 'default'}`,
)
console.log(
  `fuzzed frames sent: ${sent}; slow connections: ${SLOW_GOSSIP} gossip + ${SLOW_HTTP} HTTP; 8 × 64 MiB declared`,
)
console.log(`RSS idle ${mb(idle)}, peak ${mb(peak)}, ratio ${(peak / idle).toFixed(2)}`)
console.log(`big-frame connections closed after: max ${Math.max(...bigClosed)} ms`)
console.log(
  `slow gossip closed after: p50 ${percentile(gossipClosed, 50)} ms, max ${Math.max(...gossipClosed)} ms`,
)
console.log(`slow HTTP closed after: p50 ${percentile(httpClosed, 50)} ms, max ${Math.max(...httpClosed)} ms`)
console.log(
  `/health latency meanwhile: p50 ${percentile(healthMs, 50).toFixed(1)} ms, p99 ${percentile(healthMs, 99).toFixed(1)} ms (${healthMs.length} probes)`,
)
console.log(`badFrames: ${JSON.stringify(metrics?.transport?.badFrames)}`)
