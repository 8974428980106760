// Bounded counters on three tally-node processes: stock 300 (100 incremented
// on each node), then 600 concurrent decrements of 1 spread round-robin over
// the three nodes while one node is paused (SIGSTOP, then SIGCONT after
// PAUSE_MS). Prints per run: successes, refusals, time until every answer
// arrived, time until every node holds 300 − successes, the rights moved
// (grants and rights received, summed over nodes), transfer requests sent
// and those unanswered in time, and the lowest value any poll read.
//
//   node packages/node/bench/bounded.mjs [runs, default 3]
//   env: PAUSE_MS (3000; 0 = no pause), TRANSFER_TIMEOUT (node default), CONCURRENCY (600: all at once)

import { setTimeout as sleep } from 'node:timers/promises'
import { cluster, get, percentile, rm, stop, tempDir } from './lib.mjs'

const runs = Number(process.argv[2] ?? 3)
const pauseMs = Number(process.env.PAUSE_MS ?? 3000)
const extra = ['--gossip-interval', '100']
if (process.env.TRANSFER_TIMEOUT) extra.push('--bounded-transfer-timeout', process.env.TRANSFER_TIMEOUT)

async function once(run) {
  const dir = tempDir()
  const nodes = await cluster(3, dir, extra)
  try {
    const name = `stock-${run}`
    for (const n of nodes) await post(`${n.url}/bounded/${name}/increment`, { amount: 100 })
    await waitAll(nodes, name, 300)
    let polling = true
    let lowest = Number.POSITIVE_INFINITY
    const polls = nodes.map(async (n) => {
      while (polling) {
        const v = await get(`${n.url}/bounded/${name}`)
        if (v) lowest = Math.min(lowest, v.value)
        await sleep(10)
      }
    })
    const t0 = performance.now()
    const paused = nodes[2].child
    const writes = []
    for (let i = 0; i < 600; i++) {
      writes.push(decrement(nodes[i % 3], name))
      if (i === 150 && pauseMs > 0) {
        paused.kill('SIGSTOP')
        setTimeout(() => paused.kill('SIGCONT'), pauseMs)
      }
    }
    const statuses = await Promise.all(writes)
    const answeredMs = performance.now() - t0
    const ok = statuses.filter((s) => s === 200).length
    const refused = statuses.filter((s) => s === 409).length
    await waitAll(nodes, name, 300 - ok)
    const convergedMs = performance.now() - t0
    polling = false
    await Promise.all(polls)
    const stats = await Promise.all(nodes.map((n) => get(`${n.url}/stats`)))
    const sum = (k) => stats.reduce((s, x) => s + (x?.bounded?.[k] ?? 0), 0)
    return {
      ok,
      refused,
      other: statuses.filter((s) => s !== 200 && s !== 409).map(String),
      answeredMs: Math.round(answeredMs),
      convergedMs: Math.round(convergedMs),
      grants: sum('grantsIn'),
      rightsMoved: sum('rightsIn'),
      wantsOut: sum('wantsOut'),
      wantTimeouts: sum('wantTimeouts'),
      lowestRead: lowest,
    }
  } finally {
    await stop(nodes)
    rm(dir)
  }
}

async function post(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(60_000),
  })
  const text = await res.text()
  if (res.status === 200 || res.status === 409) return res.status
  // Anything else is reported with its code.
  return `${res.status} ${JSON.parse(text)?.error?.code ?? text.slice(0, 80)}`
}

const decrement = (n, name) => post(`${n.url}/bounded/${name}/decrement`, { amount: 1 })

async function waitAll(nodes, name, value) {
  const end = Date.now() + 30_000
  for (;;) {
    const vs = await Promise.all(nodes.map((n) => get(`${n.url}/bounded/${name}`)))
    if (vs.every((v) => v?.value === value)) return
    if (Date.now() > end) throw new Error(`nodes not at ${value}: ${JSON.stringify(vs.map((v) => v?.value))}`)
    await sleep(25)
  }
}

const results = []
for (let r = 1; r <= runs; r++) {
  const res = await once(r)
  results.push(res)
  console.log(`run ${r}: ${JSON.stringify(res)}`)
}
const med = (k) =>
  percentile(
    results.map((x) => x[k]),
    50,
  )
console.log(
  `median of ${runs} (pause ${pauseMs} ms): ok ${med('ok')}, answered in ${med('answeredMs')} ms, converged in ${med('convergedMs')} ms, rights moved ${med('rightsMoved')} in ${med('grants')} grants, ${med('wantsOut')} requests (${med('wantTimeouts')} unanswered in time)`,
)
