import type { CounterMapState, Delta } from '@tally/crdt'
import { MarksFold, type MarksRecord } from '../resets/marks-record.js'
import { isStateSource, readAll, type StateSource } from './snapshot-source.js'
import { type IdempotencyRecord, type Recovered, replicaIdOf, type Store } from './store.js'

/**
 * A Store that keeps everything in memory: for tests and in-process
 * simulations. Survives `close()`/`open()` on the same object (a "restart"
 * with data), and `wipe()` simulates a lost data dir.
 */
export class MemoryStore implements Store {
  #incarnation = 0
  #nodeId: string | null = null
  #state: CounterMapState | null = null
  #deltas: Delta[] = []
  #idem: IdempotencyRecord[] = []
  #marks: MarksRecord[] = []

  async open(nodeId: string): Promise<Recovered> {
    if (this.#nodeId !== nodeId || this.#incarnation === 0) {
      this.#nodeId = nodeId
      this.#incarnation++
    }
    return {
      identity: { nodeId, incarnation: this.#incarnation, replicaId: replicaIdOf(nodeId, this.#incarnation) },
      state: this.#state,
      deltas: [...this.#deltas],
      // Copies: the node takes the records over (and may mark one compensated in place).
      idempotency: this.#idem.map((r) => ({ ...r })),
      warnings: [],
      ...(this.#marks.length > 0 ? { marks: this.#foldMarks() } : {}),
    }
  }

  async appendLocal(delta: Delta, idem?: IdempotencyRecord): Promise<void> {
    this.#deltas.push(delta)
    if (idem) this.#idem.push({ ...idem })
  }

  async appendRemote(delta: Delta, records?: readonly IdempotencyRecord[]): Promise<void> {
    this.#deltas.push(delta)
    for (const r of records ?? []) this.#idem.push({ ...r })
  }

  async appendMarks(marks: MarksRecord, _local: boolean): Promise<void> {
    // A garbage-collection drop forgets what was kept of those counters before it.
    const dropped = new Set(marks.dropped ?? [])
    if (dropped.size > 0) {
      if (this.#state) {
        const counters = { ...this.#state.counters }
        for (const name of dropped) delete counters[name]
        this.#state = { ...this.#state, counters }
      }
      this.#deltas = this.#deltas.map((d) => ({
        ranges: d.ranges,
        entries: d.entries.filter((e) => !dropped.has(e[0])),
      }))
    }
    this.#marks.push(structuredClone(marks))
  }

  #foldMarks(): MarksRecord {
    const f = new MarksFold()
    for (const m of this.#marks) f.add(m)
    return f.record()
  }

  async snapshot(state: CounterMapState | StateSource, idempotency: IdempotencyRecord[]): Promise<void> {
    const marks = isStateSource(state) ? state.marks?.() : undefined
    this.#marks = marks ? [structuredClone(marks)] : []
    this.#state = isStateSource(state) ? readAll(state) : state
    this.#deltas = []
    this.#idem = idempotency.map((r) => ({ ...r }))
  }

  async close(): Promise<void> {}

  /** Forgets everything but the incarnation counter's lesson: the next open is a new replica. */
  wipe(): void {
    this.#state = null
    this.#deltas = []
    this.#idem = []
    this.#marks = []
    this.#nodeId = null
  }
}
