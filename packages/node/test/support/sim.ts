// In-process clusters for tests: TallyNodes over a MemoryNetwork and MemoryStores.
import { until } from '@tally/kit/testing'
import pino from 'pino'
import { TallyNode, type TallyNodeOptions } from '../../src/node.js'
import { MemoryStore } from '../../src/storage/memory-store.js'
import { type MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'

export const silent = pino({ level: 'silent' })

export interface SimNode {
  id: string
  addr: string
  store: MemoryStore
  node: TallyNode
}

/** Starts node `id` at address `addr` on `net`. */
export async function startSim(
  net: MemoryNetwork,
  id: string,
  peers: string[],
  extra: Partial<TallyNodeOptions> = {},
  store = new MemoryStore(),
): Promise<SimNode> {
  const addr = `${id}:1`
  const node = await TallyNode.start({
    id,
    store,
    transport: new MemoryTransport(net, addr),
    logger: silent,
    peers,
    gossipIntervalMs: 20,
    snapshotIntervalMs: 60_000,
    ...extra,
  })
  return { id, addr, store, node }
}

/**
 * Resolves once every node in `nodes` has run `n` more gossip rounds and
 * answered `n` more digest pulls than when called. Messages are delivered in
 * send order, so whatever any of them had sent before the call has been
 * processed by then: a value still unchanged afterwards stays unchanged.
 */
export async function gossipRoundsPass(nodes: readonly SimNode[], n = 10, timeoutMs = 10_000): Promise<void> {
  const stats = (x: SimNode) => x.node.replicator.stats
  const start = nodes.map((x) => ({ rounds: stats(x).rounds, pulls: stats(x).pullsIn }))
  await until(
    () =>
      nodes.every(
        (x, i) => stats(x).rounds >= start[i]!.rounds + n && stats(x).pullsIn >= start[i]!.pulls + n,
      ),
    { what: `${n} more gossip rounds on ${nodes.map((x) => x.id).join(', ')}`, timeoutMs },
  )
}

/** True when every node has value `v` for counter `name`. */
export function allAt(nodes: SimNode[], name: string, v: number): boolean {
  return nodes.every((n) => n.node.map.value(name) === v)
}

/** Cuts the nodes `ids` (at `id:1`) into two random sides with `rand` (a seeded PRNG). */
export function partitionAtRandom(net: MemoryNetwork, ids: readonly string[], rand: () => number): void {
  const cut = ids.filter(() => rand() < 0.5).map((i) => `${i}:1`)
  net.partition(
    cut,
    ids.map((i) => `${i}:1`).filter((a) => !cut.includes(a)),
  )
}
