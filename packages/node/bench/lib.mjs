// Shared helpers for the node benchmarks: spawn tally-node processes on
// loopback with free ports, poll them, and clean up by pid.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

// The bundled bin (npm run build makes it). BENCH_NODE_SERVER: another build of the node (its
// dist/server.js or dist/tally-node.js, e.g. the commit before a change) to measure instead.
// BENCH_NODE_ARGS: extra flags for every node started (space-separated, e.g. `--young-generation v8`).
export const SERVER =
  process.env.BENCH_NODE_SERVER ?? fileURLToPath(new URL('../dist/tally-node.js', import.meta.url))
if (!existsSync(SERVER)) {
  console.error(`${SERVER} is missing: run npm run build`)
  process.exit(1)
}

const children = new Set()
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})

export function tempDir() {
  return mkdtempSync(join(tmpdir(), 'tally-bench-'))
}

export function rm(dir) {
  rmSync(dir, { recursive: true, force: true })
}

/** Starts one node (`server`: the build's tally-node.js or server.js) on OS-chosen ports (read back from its `listening` log line). */
export function startNode(id, dir, extra, server = SERVER) {
  const args = [
    ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []),
    server,
    '--id',
    id,
    '--tcp-port',
    '0',
    '--http-port',
    '0',
  ]
  args.push('--data-dir', join(dir, id), '--log-level', 'info')
  if (!extra.includes('--resp-port')) args.push('--resp-port', '0')
  args.push(...extra, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean))
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return new Promise((resolve, reject) => {
    let buf = ''
    let found = false
    child.once('exit', (code) => found || reject(new Error(`${id} exited ${code}`)))
    // Keep draining stdout so the child never blocks on a full pipe.
    child.stdout.on('data', (d) => {
      if (found) return
      buf += d
      for (const line of buf.split('\n')) {
        try {
          const rec = JSON.parse(line)
          if (rec.msg === 'listening') {
            found = true
            const tcp = Number(rec.gossip.slice(rec.gossip.lastIndexOf(':') + 1))
            const resp = rec.resp ? Number(rec.resp.slice(rec.resp.lastIndexOf(':') + 1)) : 0
            resolve({ id, tcp, http: Number(new URL(rec.http).port), resp, url: rec.http, child })
            return
          }
        } catch {}
      }
    })
  })
}

/** Starts `n` nodes of build `server`, each seeded with the first. Resolves once all see each other. */
export async function cluster(n, dir, extra = [], server = SERVER) {
  const nodes = [await startNode('b1', dir, extra, server)]
  for (let i = 2; i <= n; i++)
    nodes.push(await startNode(`b${i}`, dir, [...extra, '--peers', `127.0.0.1:${nodes[0].tcp}`], server))
  for (const node of nodes) await until(async () => (await get(`${node.url}/health`)) !== null, 20_000)
  await until(async () => {
    const hs = await Promise.all(nodes.map((x) => get(`${x.url}/health`)))
    return hs.every((h) => h && h.peers.live === n - 1)
  }, 30_000)
  return nodes
}

export async function stop(nodes) {
  await Promise.all(
    nodes.map(
      (x) =>
        new Promise((r) => {
          if (x.child.exitCode !== null) return r()
          const t = setTimeout(() => x.child.kill('SIGKILL'), 5000)
          x.child.once('exit', () => {
            clearTimeout(t)
            r()
          })
          x.child.kill('SIGTERM')
        }),
    ),
  )
}

export async function get(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
    return res.ok ? await res.json() : null
  } catch {
    return null
  }
}

export async function post(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body ?? {}),
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(10_000),
  })
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`)
  return res.json()
}

export async function until(check, timeoutMs, stepMs = 50) {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, stepMs))
  }
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

let nextBenchId = 0

/**
 * Loads `url` with `POST {"amount":1}` (JSON) from `connections` connections
 * for `seconds`, by autocannon; resolves with autocannon's result. With
 * `header`, every request carries that header with a fresh value (e.g.
 * `idempotency-key` for keyed writes; a header the server ignores for the
 * same request shape without keys).
 */
export function postLoad(url, seconds, connections, header) {
  const requests =
    header === undefined
      ? undefined
      : [
          {
            setupRequest: (req) => ({
              ...req,
              headers: { ...req.headers, [header]: `b-${process.pid}-${nextBenchId++}` },
            }),
          },
        ]
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: 'POST',
        duration: seconds,
        connections,
        body: '{"amount":1}',
        headers: { 'content-type': 'application/json' },
        ...(requests === undefined ? {} : { requests }),
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    )
  })
}

/**
 * Resolves once `url`/health answers 200, asking one request at a time
 * (each answered or refused, 5 s at most, before the next), every `stepMs`;
 * rejects after `timeoutMs`.
 */
export function untilHealthy(url, timeoutMs, stepMs) {
  return until(
    async () => {
      try {
        return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) })).ok
      } catch {
        return false
      }
    },
    timeoutMs,
    stepMs,
  )
}

/**
 * `n` key records of replica `replica`, one keyed increment each of a
 * counter among `counters` (`counter-<i mod counters>`), all learnt now: what
 * a node holds after n keyed writes (million.mjs, key-ledger.mjs).
 */
export function keyRecordsOf(n, replica, counters = n) {
  const at = Date.now()
  return Array.from({ length: n }, (_, i) => ({
    key: `key-${i}-0123456789abcdef`,
    name: `counter-${i % counters}`,
    op: 'increment',
    amount: 1,
    value: 1,
    at,
    replica,
    seq: i + 1,
    attempt: 1,
  }))
}
