// A node's start opens its bounded store beside its main store (at the same
// time), and still refuses to start with the same error when either fails,
// closing the other again.
import { afterEach, describe, expect, it } from 'vitest'
import { type BoundedRecovered, MemoryBoundedStore } from '../../src/bounded/bounded-store.js'
import { TallyNode } from '../../src/node.js'
import { MemoryStore } from '../../src/storage/memory-store.js'
import type { Recovered } from '../../src/storage/store.js'
import { StoreError } from '../../src/storage/store-errors.js'
import { MemoryNetwork, MemoryTransport } from '../../src/wire/memory-transport.js'
import { silent } from '../support/sim.js'

/** A promise with its resolve handle. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => {}
  const promise = new Promise<void>((r) => {
    open = r
  })
  return { promise, open }
}

/**
 * A MemoryStore whose open() waits for `wait` and then fails with `fail` if
 * given; or, with `damagedSlice`, opens and hands over snapshot slices whose
 * reading fails with it (a chunk found damaged as it is read). Records its calls.
 */
class GatedStore extends MemoryStore {
  readonly calls: string[] = []
  constructor(
    readonly wait: Promise<void>,
    readonly fail?: Error,
    readonly damagedSlice?: Error,
  ) {
    super()
  }
  override async open(nodeId: string): Promise<Recovered> {
    this.calls.push('open')
    await this.wait
    if (this.fail) throw this.fail
    const rec = await super.open(nodeId)
    const damaged = this.damagedSlice
    if (damaged === undefined) return rec
    return {
      ...rec,
      // biome-ignore lint/correctness/useYield: a chunk that fails before it yields anything
      async *slices() {
        throw damaged
      },
    }
  }
  override async close(): Promise<void> {
    this.calls.push('close')
    await super.close()
  }
}

/** A MemoryBoundedStore that records its calls (into `log`, shared with the main store's) and may fail to open. */
class RecordingBoundedStore extends MemoryBoundedStore {
  constructor(
    readonly log: string[],
    readonly fail?: Error,
  ) {
    super()
  }
  override async open(): Promise<BoundedRecovered> {
    this.log.push('bounded open')
    if (this.fail) throw this.fail
    return super.open()
  }
  override async close(): Promise<void> {
    this.log.push('bounded close')
    await super.close()
  }
}

const nodes: TallyNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

function start(store: MemoryStore, boundedStore: MemoryBoundedStore): Promise<TallyNode> {
  return TallyNode.start({
    id: 'n1',
    store,
    boundedStore,
    transport: new MemoryTransport(new MemoryNetwork(), 'n1:1'),
    logger: silent,
    snapshotIntervalMs: 60_000,
  })
}

describe('TallyNode.start: main and bounded stores', () => {
  it('opens the bounded store while the main store is still opening', async () => {
    const g = gate()
    const store = new GatedStore(g.promise)
    const bounded = new RecordingBoundedStore(store.calls)
    const starting = start(store, bounded)
    // The main store's open waits on the gate: the bounded store's open must already have begun.
    await new Promise((r) => setImmediate(r))
    expect([...store.calls].sort()).toEqual(['bounded open', 'open'])
    g.open()
    nodes.push(await starting)
  })

  it('the main store failing refuses the start with its error; the bounded store is closed again', async () => {
    const boom = new StoreError('TALLY_DATA_DIR_LOCKED', 'data dir locked')
    const store = new GatedStore(Promise.resolve(), boom)
    const bounded = new RecordingBoundedStore(store.calls)
    await expect(start(store, bounded)).rejects.toBe(boom)
    expect(store.calls).toContain('bounded close')
  })

  it('the bounded store failing refuses the start with its error; the main store is closed again', async () => {
    const boom = new StoreError('TALLY_WAL_CORRUPT', 'bounded log damaged')
    const store = new GatedStore(Promise.resolve())
    const bounded = new RecordingBoundedStore(store.calls, boom)
    await expect(start(store, bounded)).rejects.toBe(boom)
    expect(store.calls).toContain('close')
  })

  it('a snapshot chunk found damaged while the map is rebuilt refuses the start with its error; both stores are closed again', async () => {
    const boom = new StoreError('TALLY_WAL_CORRUPT', 'snapshot damaged (chunk 0: checksum mismatch)')
    const store = new GatedStore(Promise.resolve(), undefined, boom)
    const bounded = new RecordingBoundedStore(store.calls)
    await expect(start(store, bounded)).rejects.toBe(boom)
    expect(store.calls).toEqual(expect.arrayContaining(['open', 'close', 'bounded open', 'bounded close']))
  })

  it('both failing: the main store’s error', async () => {
    const main = new StoreError('TALLY_DATA_DIR_UNREADABLE', 'main unreadable')
    const store = new GatedStore(Promise.resolve(), main)
    const bounded = new RecordingBoundedStore(store.calls, new StoreError('TALLY_WAL_CORRUPT', 'bounded'))
    await expect(start(store, bounded)).rejects.toBe(main)
    expect(store.calls).not.toContain('bounded close')
  })
})
