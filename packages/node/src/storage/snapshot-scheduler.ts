// When the node snapshots: every `intervalMs`, when the store says its log
// has grown enough (`needsSnapshot`), and on clean shutdown; one at a time,
// and never when nothing was logged since the last one. The store reads the
// live map a slice at a time (mapSource), so a snapshot never stalls requests.
// A snapshot holds the whole CounterMap state and every live idempotency
// record, including those of writes still being logged (the state already
// holds their operations). Never after a failed append: the map may then hold
// operations the store refused.

import type { CounterMap } from '@tally/crdt'
import type { Logger } from 'pino'
import type { MarksRecord } from '../resets/marks-record.js'
import { mapSource } from './snapshot-source.js'
import type { IdempotencyRecord, Store } from './store.js'
import type { WriteFence } from './write-fence.js'

/** Where the idempotency records of a snapshot come from (besides the writes in flight). */
export interface SnapshotRecordSource {
  /** Every live record to keep across log truncation. May throw (the snapshot is then skipped and logged). */
  snapshotRecords(): IdempotencyRecord[]
}

/** Options of {@link SnapshotScheduler}. */
export interface SnapshotSchedulerOptions {
  store: Store
  map: CounterMap
  fence: WriteFence
  records: SnapshotRecordSource
  logger: Logger
  /** Period of the timer, ms. */
  intervalMs: number
  /** The reset marks and TTLs to keep (read at the snapshot's log position). */
  marks?: () => MarksRecord
}

/** Takes snapshots on a timer and on demand, one at a time. */
export class SnapshotScheduler {
  readonly #o: SnapshotSchedulerOptions
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | null = null
  #taken = 0
  #skipped = 0

  constructor(o: SnapshotSchedulerOptions) {
    this.#o = o
  }

  /** Starts the periodic timer (unref'd: it never keeps the process alive). */
  start(): void {
    this.#timer = setInterval(() => void this.take(), this.#o.intervalMs)
    this.#timer.unref()
  }

  /** Stops the timer. A snapshot already running goes on; {@link take} still works. */
  stop(): void {
    clearInterval(this.#timer)
  }

  /** Starts a snapshot (not waiting for it) if the store asks for one. Call after every append. Never throws. */
  maybe(): void {
    if (this.#o.store.needsSnapshot?.()) void this.take()
  }

  /**
   * Writes a snapshot unless one is running (then waits for it) or nothing
   * changed since the last one (then resolves at once). Never rejects;
   * failures are logged.
   */
  take(): Promise<void> {
    if (this.#running) return this.#running
    if (this.#o.fence.failure !== null) return Promise.resolve()
    if (this.#o.store.changedSinceSnapshot?.() === false) {
      this.#skipped++
      return Promise.resolve()
    }
    let records: IdempotencyRecord[]
    try {
      records = this.#o.records.snapshotRecords().concat(this.#o.fence.unsettled())
    } catch (err) {
      this.#o.logger.error({ err }, 'snapshot failed')
      return Promise.resolve()
    }
    this.#running = this.#o.store
      .snapshot(mapSource(this.#o.map, this.#o.marks), records)
      .then(
        () => {
          this.#taken++
        },
        (err: unknown) => this.#o.logger.error({ err }, 'snapshot failed'),
      )
      .finally(() => {
        this.#running = null
      })
    return this.#running
  }

  /** Snapshots written since start. */
  get taken(): number {
    return this.#taken
  }

  /** Snapshots skipped since start because nothing had changed. */
  get skipped(): number {
    return this.#skipped
  }
}
