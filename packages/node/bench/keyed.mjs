// Keyed vs unkeyed writes on one node, and both vs a bare fastify route
// (bare-server.mjs), same run, interleaved rounds, medians. Every request of
// every target is built per request by autocannon (a fresh header each:
// `Idempotency-Key` for keyed writes, an `x-bench-id` the node ignores for the
// others), so the client spends the same CPU per request on every target: a
// fresh key per request roughly halves what autocannon can send, and
// comparing a keyed run against a prebuilt unkeyed one measures the client.
// Server CPU per request is read from /proc/<pid>/stat (Linux): with
// `nodes` > 1, the writes go to the first node and its peers' CPU (they take
// in the replicated deltas and key records) is reported too.
//
// `nodeCpuVsBare` is the bare route's CPU per request ÷ the node's (1 = the
// node spends no more than a route that only answers). With `--durability
// sync` an answer waits for a group commit's fsync, work a bare route does
// not do; `async` compares the HTTP write path itself.
//
// `perRound`: the same ratios taken within each round, then the median over
// rounds (less sensitive to load that drifts between rounds on a shared machine).
//
// BENCH_COMPARE_NODE_SERVER=<server.js>: also a cluster of another build (e.g. the
// commit before a change), its unkeyed and keyed rounds interleaved with the others;
// `perRound.cpuVsCompared` is this build's CPU per request ÷ that build's, per round.
// BENCH_COMPARE_NODE_ARGS="<flags>": extra flags for the compared cluster only
// (BENCH_NODE_ARGS, which both get, come after them), e.g. this build against itself
// with another setting:
// BENCH_COMPARE_NODE_SERVER=dist/tally-node.js BENCH_COMPARE_NODE_ARGS="--young-generation small".
//
// BENCH_HOUSE=1: also the same route on the node's own fastify base
// (house-server.mjs: kit's createFastify, the node's schemas, timeouts, logger
// and a response hook, answering from memory), interleaved too; `house` splits
// the gap to the bare route into what the base costs (bare → house) and what
// the node's own work costs (house → node: `nodeCpuVsHouse`).
//
// `wal`: the writing node's log per answered request, from its /metrics
// (medians over rounds): group commits (`batchesPerReq`), fsyncs
// (`fsyncsPerReq`: 0 with `async`) and log bytes per logged operation. A
// keyed write whose key record took a group commit of its own would show
// about twice the unkeyed fsyncs per request.
//
// Usage: node bench/keyed.mjs [durationSec=4] [connections=10,100] [nodes=1,3] [rounds=3] [durability=sync]

import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { cluster, postLoad, rm, stop, tempDir } from './lib.mjs'

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

// CPU time (user + system) of a process so far, ms (10 ms ticks).
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}

// Medians over rounds of a target's log counters (batches and fsyncs per request, 3 decimals).
function walMedians(rounds) {
  const m = (f, d) => Math.round(median(rounds.map((r) => f(r.wal))) * d) / d
  return {
    batchesPerReq: m((w) => w.batches, 1000),
    fsyncsPerReq: m((w) => w.fsyncs, 1000),
    bytesPerOp: m((w) => w.bytesPerOp, 1),
  }
}

// The first node's WAL counters from its /metrics (a bare route has none: zeros).
async function walCounters(base) {
  if (!base) return { batches: 0, fsyncs: 0, ops: 0, bytes: 0 }
  const text = await (await fetch(`${base}/metrics`)).text()
  const g = (name) =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(`${name} `))
        ?.split(' ')[1] ?? 0,
    )
  return {
    batches: g('tally_wal_batches_total'),
    fsyncs: g('tally_wal_fsyncs_total'),
    ops: g('tally_wal_operations_total'),
    bytes: g('tally_wal_bytes_total'),
  }
}

async function measure(url, pids, duration, connections, header, base) {
  const wal0 = await walCounters(base)
  const before = pids.map(cpuMs)
  const r = await postLoad(url, duration, connections, header)
  const us = pids.map((pid, i) => ((cpuMs(pid) - before[i]) * 1000) / Math.max(1, r.requests.total))
  const wal1 = await walCounters(base)
  const n = Math.max(1, r.requests.total)
  // Per answered request: group commits (log writes) and fsyncs; log bytes per logged operation.
  const wal = {
    batches: (wal1.batches - wal0.batches) / n,
    fsyncs: (wal1.fsyncs - wal0.fsyncs) / n,
    bytesPerOp: (wal1.bytes - wal0.bytes) / Math.max(1, wal1.ops - wal0.ops),
  }
  return { rps: r.requests.average, p99: r.latency.p99, us, wal, bad: r.errors + r.non2xx }
}

/** One comparison: `nodes` nodes (writes to the first), `connections` connections, `rounds` rounds. */
export async function keyedBench(duration = 4, connections = 10, nodes = 1, rounds = 3, durability = 'sync') {
  const server = spawn(process.execPath, [fileURLToPath(new URL('./bare-server.mjs', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise((resolve) =>
    server.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
  )
  const bareUrl = `http://127.0.0.1:${port}/increment`
  const house = process.env.BENCH_HOUSE
    ? spawn(process.execPath, [fileURLToPath(new URL('./house-server.mjs', import.meta.url))], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : undefined
  const housePort = house
    ? await new Promise((resolve) => house.stdout.once('data', (d) => resolve(Number(String(d).trim()))))
    : 0
  const houseUrl = house ? `http://127.0.0.1:${housePort}/increment` : ''
  const dir = tempDir()
  const all = await cluster(nodes, dir, ['--durability', durability])
  const nodeUrl = `${all[0].url}/increment`
  const pids = all.map((n) => n.child.pid)
  const compareBin = process.env.BENCH_COMPARE_NODE_SERVER
  const compareArgs = (process.env.BENCH_COMPARE_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const other = compareBin
    ? await cluster(nodes, dir + '-compare', ['--durability', durability, ...compareArgs], compareBin)
    : []
  const otherUrl = other.length > 0 ? `${other[0].url}/increment` : ''
  const otherPids = other.map((n) => n.child.pid)
  try {
    await postLoad(bareUrl, 1, connections, 'x-bench-id')
    if (houseUrl) await postLoad(houseUrl, 1, connections, 'x-bench-id')
    await postLoad(nodeUrl, 1, connections, 'idempotency-key')
    if (otherUrl) await postLoad(otherUrl, 1, connections, 'idempotency-key')
    const runs = { bare: [], house: [], unkeyed: [], keyed: [], cmpUnkeyed: [], cmpKeyed: [] }
    for (let i = 0; i < rounds; i++) {
      runs.bare.push(await measure(bareUrl, [server.pid], duration, connections, 'x-bench-id'))
      if (houseUrl) runs.house.push(await measure(houseUrl, [house.pid], duration, connections, 'x-bench-id'))
      runs.unkeyed.push(await measure(nodeUrl, pids, duration, connections, 'x-bench-id', all[0].url))
      if (otherUrl)
        runs.cmpUnkeyed.push(await measure(otherUrl, otherPids, duration, connections, 'x-bench-id'))
      runs.keyed.push(await measure(nodeUrl, pids, duration, connections, 'idempotency-key', all[0].url))
      if (otherUrl)
        runs.cmpKeyed.push(await measure(otherUrl, otherPids, duration, connections, 'idempotency-key'))
    }
    const rps = (k) => median(runs[k].map((r) => r.rps))
    const p99 = (k) => median(runs[k].map((r) => r.p99))
    const us = (k, i) => Math.round(median(runs[k].map((r) => r.us[i] ?? 0)))
    // Ratio within each round (the targets ran back to back), then the median: load that
    // drifts between rounds cancels out better than in a ratio of medians.
    const paired = (a, b, f) => Math.round(median(runs[a].map((r, i) => f(r, runs[b][i]))) * 100) / 100
    const peers = (k) => Math.round(median(runs[k].map((r) => r.us.slice(1).reduce((s, x) => s + x, 0))))
    return {
      nodes,
      connections,
      durability,
      bareReqPerSec: Math.round(rps('bare')),
      unkeyedReqPerSec: Math.round(rps('unkeyed')),
      keyedReqPerSec: Math.round(rps('keyed')),
      keyedVsUnkeyed: Math.round((rps('keyed') / rps('unkeyed')) * 100) / 100,
      unkeyedVsBare: Math.round((rps('unkeyed') / rps('bare')) * 100) / 100,
      nodeCpuVsBare: Math.round((us('bare', 0) / Math.max(1, us('unkeyed', 0))) * 100) / 100,
      perRound: {
        keyedVsUnkeyed: paired('keyed', 'unkeyed', (k, u) => k.rps / u.rps),
        unkeyedVsBare: paired('unkeyed', 'bare', (u, b) => u.rps / b.rps),
        nodeCpuVsBare: paired('unkeyed', 'bare', (u, b) => b.us[0] / Math.max(1, u.us[0])),
        ...(houseUrl
          ? {
              unkeyedVsHouse: paired('unkeyed', 'house', (u, h) => u.rps / h.rps),
              nodeCpuVsHouse: paired('unkeyed', 'house', (u, h) => h.us[0] / Math.max(1, u.us[0])),
            }
          : {}),
        ...(otherUrl
          ? {
              comparedKeyedVsUnkeyed: paired('cmpKeyed', 'cmpUnkeyed', (k, u) => k.rps / u.rps),
              comparedUnkeyedVsBare: paired('cmpUnkeyed', 'bare', (u, b) => u.rps / b.rps),
              // This build's CPU per request ÷ the compared build's (< 1: this build spends less).
              cpuVsCompared: {
                unkeyed: paired('unkeyed', 'cmpUnkeyed', (a, b) => a.us[0] / Math.max(1, b.us[0])),
                keyed: paired('keyed', 'cmpKeyed', (a, b) => a.us[0] / Math.max(1, b.us[0])),
              },
            }
          : {}),
      },
      ...(houseUrl
        ? {
            houseReqPerSec: Math.round(rps('house')),
            unkeyedVsHouse: Math.round((rps('unkeyed') / rps('house')) * 100) / 100,
            houseCpuVsBare: Math.round((us('bare', 0) / Math.max(1, us('house', 0))) * 100) / 100,
            nodeCpuVsHouse: Math.round((us('house', 0) / Math.max(1, us('unkeyed', 0))) * 100) / 100,
          }
        : {}),
      p99ms: { bare: p99('bare'), unkeyed: p99('unkeyed'), keyed: p99('keyed') },
      // The writing node's log per answered request (medians over rounds): does a keyed write
      // cost more group commits or fsyncs than an unkeyed one, and how much bigger is its row?
      wal: {
        unkeyed: walMedians(runs.unkeyed),
        keyed: walMedians(runs.keyed),
      },
      cpuUsPerReq: {
        bare: us('bare', 0),
        ...(houseUrl ? { house: us('house', 0) } : {}),
        unkeyed: us('unkeyed', 0),
        keyed: us('keyed', 0),
        ...(nodes > 1 ? { peersUnkeyed: peers('unkeyed'), peersKeyed: peers('keyed') } : {}),
      },
      ...(otherUrl
        ? {
            compared: {
              server: compareBin,
              ...(compareArgs.length > 0 ? { args: compareArgs.join(' ') } : {}),
              unkeyedReqPerSec: Math.round(rps('cmpUnkeyed')),
              keyedReqPerSec: Math.round(rps('cmpKeyed')),
              keyedVsUnkeyed: Math.round((rps('cmpKeyed') / rps('cmpUnkeyed')) * 100) / 100,
              cpuUsPerReq: {
                unkeyed: us('cmpUnkeyed', 0),
                keyed: us('cmpKeyed', 0),
                ...(nodes > 1 ? { peersUnkeyed: peers('cmpUnkeyed'), peersKeyed: peers('cmpKeyed') } : {}),
              },
            },
          }
        : {}),
      errors: Object.values(runs)
        .flat()
        .reduce((s, r) => s + r.bad, 0),
    }
  } finally {
    server.kill('SIGTERM')
    house?.kill('SIGTERM')
    await stop(all)
    await stop(other)
    rm(dir)
    if (otherUrl) rm(dir + '-compare')
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [d = '4', cs = '10,100', ns = '1,3', rounds = '3', durability = 'sync'] = process.argv.slice(2)
  for (const n of ns.split(',').map(Number))
    for (const c of cs.split(',').map(Number))
      console.log(JSON.stringify(await keyedBench(Number(d), c, n, Number(rounds), durability)))
}
