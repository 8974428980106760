// A seeded multi-replica simulation: random operations on random counters,
// eager per-operation deltas and anti-entropy rounds over a network that
// drops, duplicates, reorders and partitions (then heals). After healing,
// every replica must hold exactly the sum of the operations applied.
import { describe, expect, it } from 'vitest'
import { CounterMap, type Delta, type Summary } from '../src/index.js'
import { canonRecord, prng, wire } from './support/canonical.js'

// Anti-entropy: pull{digest} → (equal: done) | summary → push{delta, summary} → push{delta}.
type Message =
  | { kind: 'delta'; delta: Delta }
  | { kind: 'pull'; digest: string }
  | { kind: 'summary'; summary: Summary }
  | { kind: 'push'; delta: Delta; summary?: Summary }

interface InFlight {
  at: number
  from: number
  to: number
  msg: Message
}

interface Params {
  seed: number
  replicas: number
  counters: number
  ticks: number
  drop: number
  duplicate: number
  maxDelay: number
  partition: [start: number, end: number]
  restartEvery: number
}

interface Stats {
  ops: number
  dropped: number
  duplicated: number
  cut: number
  pulls: number
  equalPulls: number
  maxPullBytes: number
  healRounds: number
}

function simulate(p: Params) {
  const rand = prng(p.seed)
  const pick = (n: number) => Math.floor(rand() * n)
  const other = (i: number) => {
    const j = pick(p.replicas - 1)
    return j >= i ? j + 1 : j
  }
  const maps = Array.from({ length: p.replicas }, (_, i) => new CounterMap(`r${i}.1`))
  const names = Array.from({ length: p.counters }, (_, i) => `c-${i}`)
  const expected = new Map<string, bigint>()
  const stats: Stats = {
    ops: 0,
    dropped: 0,
    duplicated: 0,
    cut: 0,
    pulls: 0,
    equalPulls: 0,
    maxPullBytes: 0,
    healRounds: 0,
  }
  let queue: InFlight[] = []
  let now = 0
  let lossy = true
  const side = (i: number) => (i < Math.ceil(p.replicas / 2) ? 0 : 1)

  const send = (from: number, to: number, msg: Message) => {
    if (lossy && now >= p.partition[0] && now < p.partition[1] && side(from) !== side(to)) {
      stats.cut++
      return
    }
    if (lossy && rand() < p.drop) {
      stats.dropped++
      return
    }
    const copies = lossy && rand() < p.duplicate ? 2 : 1
    if (copies === 2) stats.duplicated++
    for (let c = 0; c < copies; c++) {
      // Random delays reorder messages; the payload crosses a "wire" (JSON copy).
      queue.push({ at: now + 1 + (lossy ? pick(p.maxDelay) : 0), from, to, msg: wire(msg) })
    }
  }

  const receive = ({ from, to, msg }: InFlight) => {
    const m = maps[to] as CounterMap
    switch (msg.kind) {
      case 'delta':
        m.applyDelta(msg.delta)
        return
      case 'pull':
        stats.pulls++
        stats.maxPullBytes = Math.max(stats.maxPullBytes, JSON.stringify(msg).length)
        if (msg.digest === m.digest()) stats.equalPulls++
        else send(to, from, { kind: 'summary', summary: m.summary() })
        return
      case 'summary':
        send(to, from, { kind: 'push', delta: m.deltaSince(msg.summary), summary: m.summary() })
        return
      case 'push':
        m.applyDelta(msg.delta)
        if (msg.summary) send(to, from, { kind: 'push', delta: m.deltaSince(msg.summary) })
        return
    }
  }

  const deliverDue = () => {
    const due = queue.filter((f) => f.at <= now)
    queue = queue.filter((f) => f.at > now)
    for (let i = due.length - 1; i > 0; i--) {
      const j = pick(i + 1)
      ;[due[i], due[j]] = [due[j] as InFlight, due[i] as InFlight]
    }
    for (const f of due) receive(f)
  }

  const pull = (i: number, j: number) =>
    send(i, j, { kind: 'pull', digest: (maps[i] as CounterMap).digest() })

  for (; now < p.ticks; now++) {
    const opsThisTick = pick(4)
    for (let k = 0; k < opsThisTick; k++) {
      const i = pick(p.replicas)
      const m = maps[i] as CounterMap
      const name = names[pick(names.length)] as string
      const amount = 1 + pick(rand() < 0.05 ? 1_000_000_000 : 100)
      const before = m.seq
      const up = rand() < 0.6
      if (up) m.increment(name, amount)
      else m.decrement(name, amount)
      stats.ops++
      expected.set(name, (expected.get(name) ?? 0n) + (up ? 1n : -1n) * BigInt(amount))
      // Eager push of just this operation to two random peers.
      const delta = m.deltaFor(m.replica, before)
      send(i, other(i), { kind: 'delta', delta })
      send(i, other(i), { kind: 'delta', delta })
    }
    if (now % 5 === 0) {
      const i = pick(p.replicas)
      pull(i, other(i))
    }
    // A durable restart: the replica comes back from its own full state (parked ranges are lost).
    if (p.restartEvery > 0 && now % p.restartEvery === 0) {
      const i = pick(p.replicas)
      const old = maps[i] as CounterMap
      maps[i] = CounterMap.fromState(old.replica, wire(old.state()))
    }
    deliverDue()
  }

  // Heal: the partition ends and the network becomes reliable (late messages still arrive).
  lossy = false
  const drain = () => {
    for (let guard = 0; queue.length > 0 && guard < 10_000; guard++) {
      now++
      deliverDue()
    }
  }
  drain()
  const converged = () =>
    maps.every((m) => m.digest() === maps[0]?.digest()) &&
    maps.every((m) => canonRecord(m.summary()) === canonRecord(maps[0]?.summary() ?? {}))
  while (!converged() && stats.healRounds < 100) {
    stats.healRounds++
    for (let i = 0; i < p.replicas; i++) pull(i, other(i))
    drain()
  }
  return { maps, names, expected, stats, pull, drain }
}

const base: Omit<Params, 'seed'> = {
  replicas: 5,
  counters: 12,
  ticks: 400,
  drop: 0.2,
  duplicate: 0.1,
  maxDelay: 15,
  partition: [100, 250],
  restartEvery: 0,
}

const scenarios: Array<[string, Params]> = [
  ['5 replicas, lossy, one partition', { ...base, seed: 1 }],
  ['5 replicas, another seed', { ...base, seed: 7 }],
  ['7 replicas, heavy loss and long delays', { ...base, seed: 42, replicas: 7, drop: 0.5, maxDelay: 40 }],
  ['6 replicas, restarts from own state', { ...base, seed: 99, replicas: 6, restartEvery: 37 }],
  ['5 replicas, many counters, early partition', { ...base, seed: 2024, counters: 200, partition: [0, 300] }],
]

// Soak: `npm run soak -w @tally/crdt` adds TALLY_SIM_SEEDS more seeds with varied parameters.
const extra = Number(process.env.TALLY_SIM_SEEDS ?? 0)
for (let seed = 10_000; seed < 10_000 + extra; seed++) {
  scenarios.push([
    `soak seed ${seed}`,
    {
      ...base,
      seed,
      replicas: 5 + (seed % 4),
      counters: 3 + (seed % 60),
      drop: [0.1, 0.3, 0.6][seed % 3] as number,
      maxDelay: 5 + (seed % 50),
      restartEvery: seed % 2 ? 0 : 11 + (seed % 30),
      partition: [seed % 100, 150 + (seed % 200)],
    },
  ])
}

describe('simulation: eager deltas + anti-entropy over a hostile network', () => {
  it.each(scenarios)('%s converges to the exact sum of the operations', (_label, params) => {
    const { maps, names, expected, stats, pull, drain } = simulate(params)
    // The network really misbehaved.
    expect(stats.ops).toBeGreaterThan(300)
    expect(stats.dropped).toBeGreaterThan(0)
    expect(stats.duplicated).toBeGreaterThan(0)
    expect(stats.cut).toBeGreaterThan(0)
    expect(stats.healRounds).toBeLessThan(100)

    const digest = maps[0]?.digest()
    for (const m of maps) {
      expect(m.digest()).toBe(digest)
      for (const name of names) expect(m.bigValue(name)).toBe(expected.get(name) ?? 0n)
      for (const name of names) expect(BigInt(m.value(name))).toBe(expected.get(name) ?? 0n)
      // Every replica's summary covers every operation of every replica.
      for (const o of maps) expect(m.summary()[o.replica] ?? 0).toBe(o.seq)
    }
    // In sync, every pair has nothing to send, and a round costs one digest per pair.
    for (const a of maps)
      for (const b of maps) expect(a.deltaSince(b.summary())).toEqual({ ranges: [], entries: [] })
    const pullsBefore = stats.pulls
    const equalBefore = stats.equalPulls
    for (let i = 0; i < maps.length; i++) pull(i, (i + 1) % maps.length)
    drain()
    expect(stats.pulls - pullsBefore).toBe(maps.length)
    expect(stats.equalPulls - equalBefore).toBe(maps.length)
    expect(stats.maxPullBytes).toBeLessThan(64)
  })

  it('is deterministic: the same seed gives the same run', () => {
    const a = simulate({ ...base, seed: 5 })
    const b = simulate({ ...base, seed: 5 })
    expect(a.maps.map((m) => m.digest())).toEqual(b.maps.map((m) => m.digest()))
    expect(a.stats).toEqual(b.stats)
  })
})
