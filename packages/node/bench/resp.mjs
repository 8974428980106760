// RESP INCR throughput of one tally-node against redis-server, measured with
// redis-benchmark (Debian redis-tools), interleaved in one run:
//   Tally --durability async  vs  redis-server without persistence (--save '' --appendonly no)
//   Tally --durability sync   vs  redis-server --appendonly yes --appendfsync always
// each without pipelining and with -P 16, `rounds` rounds, medians and ratios.
// Every server runs in its own temp dir on a free loopback port and is
// stopped by pid at the end.
// Usage: node bench/resp.mjs [requests] [rounds]
// BENCH_BASE_SERVER=<other build's dist/server.js>: each round also measures
// that build (`base`), in rotating order with the two others, so a change
// and the build before it are compared within the same run.

import { spawn, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { rm, SERVER, startNode, tempDir } from './lib.mjs'

const CLIENTS = 50
const BASE = process.env.BENCH_BASE_SERVER

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const randomPort = () => 20_000 + Math.floor(Math.random() * 30_000)

/** True when `tool` is on PATH. */
export function hasTool(tool) {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0
}

/** Starts redis-server with `args` on a free port (retrying a port in use); resolves { port, child }. */
async function startRedis(dir, args) {
  for (let i = 0; i < 20; i++) {
    const port = randomPort()
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const ready = await new Promise((resolve) => {
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
        if (out.includes('Ready to accept connections')) resolve(true)
      })
      child.once('exit', () => resolve(false))
    })
    if (ready) return { port, child }
  }
  throw new Error('redis-server did not start on any of 20 ports')
}

/** Starts tally-node with its RESP listener on a free port (retrying a port in use). */
async function startTally(dir, id, durability, server = SERVER) {
  for (let i = 0; i < 20; i++) {
    const port = randomPort()
    try {
      const n = await startNode(id, dir, ['--resp-port', String(port), '--durability', durability], server)
      return { port, child: n.child }
    } catch {}
  }
  throw new Error('tally-node did not start on any of 20 ports')
}

/** Runs redis-benchmark INCR against `port`; resolves requests per second. */
function incr(port, requests, pipeline) {
  return new Promise((resolve, reject) => {
    const args = ['-h', '127.0.0.1', '-p', String(port), '-t', 'incr', '-c', String(CLIENTS)]
    args.push('-n', String(requests), '-P', String(pipeline), '--csv')
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.once('exit', (code) => {
      const m = /"INCR","([0-9.]+)"/.exec(out)
      if (code === 0 && m) resolve(Number(m[1]))
      else reject(new Error(`redis-benchmark exited ${code}: ${out.slice(0, 300)}`))
    })
  })
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
  child.kill('SIGTERM')
  await exited
  clearTimeout(t)
}

/**
 * Measures both pairs; resolves { pair: { P: { tally, redis, ratio } } } with
 * medians in requests/s. Skips (resolves { skipped }) without redis-server or redis-benchmark.
 */
export async function respBench(requests = 100_000, rounds = 3) {
  if (!hasTool('redis-server') || !hasTool('redis-benchmark'))
    return {
      skipped: 'redis-server / redis-benchmark not installed (apt-get install redis-server redis-tools)',
    }
  const dir = tempDir()
  const pairs = [
    { name: 'async vs no persistence', durability: 'async', redis: ['--appendonly', 'no'] },
    {
      name: 'sync vs appendfsync always',
      durability: 'sync',
      redis: ['--appendonly', 'yes', '--appendfsync', 'always'],
    },
  ]
  const servers = []
  const result = {}
  try {
    for (const [i, p] of pairs.entries()) {
      const tally = await startTally(dir, `resp-${p.durability}`, p.durability)
      servers.push(tally)
      const base = BASE ? await startTally(dir, `resp-base-${p.durability}`, p.durability, BASE) : null
      if (base) servers.push(base)
      const redisDir = join(dir, `redis-${i}`)
      spawnSync('mkdir', ['-p', redisDir])
      const redis = await startRedis(redisDir, p.redis)
      servers.push(redis)
      result[p.name] = {}
      for (const pipeline of [1, 16]) {
        const n = pipeline === 1 ? requests : requests * 4
        const runs = { tally: [], redis: [], base: [] }
        const targets = [['tally', tally], ['redis', redis], ...(base ? [['base', base]] : [])]
        for (let k = 0; k < rounds; k++) {
          // Rotate who goes first, so none always runs on a warmer (or busier) machine.
          for (let j = 0; j < targets.length; j++) {
            const [who, s] = targets[(k + j) % targets.length]
            runs[who].push(await incr(s.port, n, pipeline))
          }
        }
        const tm = median(runs.tally)
        const rm_ = median(runs.redis)
        const ratioOf = (x) => Math.round((x / rm_) * 100) / 100
        result[p.name][`P${pipeline}`] = {
          tally: Math.round(tm),
          redis: Math.round(rm_),
          ratio: ratioOf(tm),
          tallyRuns: runs.tally.map(Math.round),
          redisRuns: runs.redis.map(Math.round),
          ...(base
            ? {
                base: Math.round(median(runs.base)),
                baseRatio: ratioOf(median(runs.base)),
                baseRuns: runs.base.map(Math.round),
                // Per round, so a load swing hits both builds alike.
                roundRatios: runs.tally.map((x, i) => Math.round((x / runs.redis[i]) * 100) / 100),
                baseRoundRatios: runs.base.map((x, i) => Math.round((x / runs.redis[i]) * 100) / 100),
              }
            : {}),
        }
      }
      await Promise.all(servers.splice(0).map((s) => stopChild(s.child)))
    }
  } finally {
    await Promise.all(servers.map((s) => stopChild(s.child)))
    await rm(dir)
  }
  return result
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const requests = Number(process.argv[2] ?? 100_000)
  const rounds = Number(process.argv[3] ?? 3)
  console.log(JSON.stringify(await respBench(requests, rounds), null, 2))
}
