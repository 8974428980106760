// A seeded race between a delete and increments: five replicas increment and
// decrement one ResettableCounter over a network that drops, duplicates,
// reorders and partitions; during the partition a replica on the minority
// side deletes the counter (and, in some runs, one on the majority side does
// too). After healing, every replica converges to exactly the operations no
// deleter had seen when it deleted, counted independently of the CRDT.
import { describe, expect, it } from 'vitest'
import { ResettableCounter, type ResettableCounterDelta } from '../src/index.js'
import { prng } from './support/canonical.js'
import { SimNetwork } from './support/network.js'

interface Params {
  seed: number
  ticks: number
  partition: [start: number, end: number]
  /** Replica index → tick at which it deletes the counter. */
  deletes: Record<number, number>
  drop: number
  duplicate: number
  maxDelay: number
}

const N = 5

/** A delta or state, with what it tells the receiver in operation counts: per replica [increments, decrements]. */
interface Message {
  delta: ResettableCounterDelta
  knows: Array<[number, number]>
}

function simulate(p: Params) {
  const rand = prng(p.seed)
  const side = (i: number): 0 | 1 => (i < 3 ? 0 : 1)
  const net = new SimNetwork<Message>(rand, { ...p, side })
  const counters = Array.from({ length: N }, (_, i) => new ResettableCounter(`r${i}`))
  const c = (i: number) => counters[i] as ResettableCounter
  // Independent bookkeeping in operation counts, not totals: the amounts of
  // each replica's increments and decrements in order, and per replica j how
  // many of replica i's increments and decrements j has received (an
  // increment's delta carries the sender's increment total, so it tells of
  // all its earlier increments; a state tells everything the sender knows).
  const incs: number[][] = Array.from({ length: N }, () => [])
  const decs: number[][] = Array.from({ length: N }, () => [])
  const known: Array<Array<[number, number]>> = Array.from({ length: N }, () =>
    Array.from({ length: N }, (): [number, number] => [0, 0]),
  )
  const observed: Array<Array<[number, number]>> = [] // per delete, what the deleter knew
  const nothing = () => Array.from({ length: N }, (): [number, number] => [0, 0])
  const copy = (k: Array<[number, number]>) => k.map(([a, b]): [number, number] => [a, b])
  const receive = (_from: number, to: number, msg: Message) => {
    c(to).applyDelta(msg.delta)
    const row = known[to] as Array<[number, number]>
    msg.knows.forEach(([a, b], i) => {
      const k = row[i] as [number, number]
      row[i] = [Math.max(k[0], a), Math.max(k[1], b)]
    })
  }
  const broadcast = (i: number, msg: Message) => {
    for (let j = 0; j < N; j++) if (j !== i) net.send(i, j, msg)
  }
  for (let t = 0; t < p.ticks; t++) {
    net.now = t
    net.deliverDue(receive)
    for (let i = 0; i < N; i++) {
      const mine = known[i] as Array<[number, number]>
      if (p.deletes[i] === t) {
        observed.push(copy(mine))
        broadcast(i, { delta: c(i).reset(), knows: copy(mine) })
      }
      const u = rand()
      if (u < 0.5) {
        const amount = 1 + Math.floor(rand() * 5)
        const knows = nothing()
        if (u < 0.35) {
          const d = c(i).increment(amount)
          ;(incs[i] as number[]).push(amount)
          ;(mine[i] as [number, number])[0]++
          knows[i] = [(incs[i] as number[]).length, 0]
          broadcast(i, { delta: d, knows })
        } else {
          const d = c(i).decrement(amount)
          ;(decs[i] as number[]).push(amount)
          ;(mine[i] as [number, number])[1]++
          knows[i] = [0, (decs[i] as number[]).length]
          broadcast(i, { delta: d, knows })
        }
      } else if (u < 0.6) {
        // Anti-entropy: the whole state to one peer.
        const j = (i + 1 + Math.floor(rand() * (N - 1))) % N
        net.send(i, j, { delta: c(i).state(), knows: copy(mine) })
      }
    }
  }
  // Heal: no loss, no partition; two all-to-all rounds of full states.
  net.lossy = false
  net.drain(receive)
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < N; i++)
      broadcast(i, { delta: c(i).state(), knows: copy(known[i] as Array<[number, number]>) })
    net.drain(receive)
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
  let expected = 0
  let removed = 0
  for (let i = 0; i < N; i++) {
    const ci = Math.max(0, ...observed.map((o) => (o[i] as [number, number])[0]))
    const cd = Math.max(0, ...observed.map((o) => (o[i] as [number, number])[1]))
    const is = incs[i] as number[]
    const ds = decs[i] as number[]
    expected += sum(is.slice(ci)) - sum(ds.slice(cd))
    removed += ci + cd
  }
  return { counters, expected, removed, stats: net.stats }
}

const base: Omit<Params, 'seed' | 'deletes'> = {
  ticks: 120,
  partition: [20, 90],
  drop: 0.2,
  duplicate: 0.1,
  maxDelay: 6,
}

describe('ResettableCounter over a lossy, partitioned network', () => {
  const cases: Array<[string, Params]> = []
  for (let seed = 1; seed <= 12; seed++) {
    cases.push([`seed ${seed}, one delete in the minority`, { ...base, seed, deletes: { 4: 50 } }])
    cases.push([
      `seed ${seed}, deletes on both sides`,
      { ...base, seed: seed + 1000, deletes: { 4: 50, 0: 60 } },
    ])
  }

  it.each(cases)('%s: every replica converges to exactly the operations no deleter had seen', (_, params) => {
    const { counters, expected, removed, stats } = simulate(params)
    expect(stats.cut).toBeGreaterThan(0) // the partition did separate the sides
    expect(stats.dropped).toBeGreaterThan(0)
    const digest = counters[0]?.digest()
    for (const c of counters) {
      expect(c.digest()).toBe(digest)
      expect(c.value).toBe(expected)
    }
    // The race happened: the delete removed operations, and others survived it.
    expect(removed).toBeGreaterThan(0)
    expect(counters[0]?.isEmpty).toBe(false)
  })

  it('deleting after healing, with everything seen, reads 0 everywhere', () => {
    const { counters } = simulate({ ...base, seed: 7, deletes: {} })
    const d = counters[2]?.reset()
    for (const c of counters) c.applyDelta(d)
    for (const c of counters) {
      expect(c.value).toBe(0)
      expect(c.isEmpty).toBe(true)
    }
  })
})
