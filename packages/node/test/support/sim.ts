// In-process clusters for tests: TallyNodes over a MemoryNetwork and MemoryStores.
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

/** Polls `check` every 10 ms until it returns true or `timeoutMs` passes (then throws with `what`). */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
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
