import { walKey } from './record-codec.js'

/**
 * One log entry: a WAL key and its frame (LevelDB rows); or, where the
 * source knows the batch number (segment files), the key may be left out
 * (null: it is `walKey(seq)`, made only where a reader needs it) and the
 * number given, which is then exactly `walSeqOf(key)`; such an entry may
 * also leave its frame where it lies, as `bytes[start, end)` of a whole
 * file's bytes (no view made per record: see {@link frameOf}).
 */
export type LogEntry =
  | [key: string, frame: Uint8Array]
  | [key: string | null, frame: Uint8Array, seq: number]
  | [key: null, bytes: Uint8Array, seq: number, start: number, end: number]

/** The WAL key of `entry` (made from its batch number when left out). */
export function keyOf(entry: LogEntry): string {
  return entry[0] ?? walKey(entry[2] as number)
}

/** The frame of `entry` (a view of its file's bytes for an entry that left it in place). */
export function frameOf(entry: LogEntry): Uint8Array {
  return entry.length === 5 ? entry[1].subarray(entry[3], entry[4]) : entry[1]
}

/**
 * Merges two streams of log entries (chunks, each stream ascending by key)
 * into one ascending stream of chunks: the LevelDB batches and the async
 * segments (segment-log.ts) of a data dir that ran under both durability
 * modes. Equal keys both pass (the log scan then reports the second as
 * out of place). Pure; awaits only its inputs.
 */
export async function* mergeLogs(
  a: AsyncIterable<LogEntry[]>,
  b: AsyncIterable<LogEntry[]>,
): AsyncGenerator<LogEntry[]> {
  const left = new Cursor(a)
  const right = new Cursor(b)
  try {
    yield* merge(left, right)
  } finally {
    // Stopped early (the scan refused the log): let the sources release what they hold.
    await Promise.all([left.stop(), right.stop()])
  }
}

async function* merge(left: Cursor, right: Cursor): AsyncGenerator<LogEntry[]> {
  await Promise.all([left.fill(), right.fill()])
  for (;;) {
    if (left.done && right.done) return
    // One side exhausted: hand over the other's chunks as they are.
    if (left.done || right.done) {
      const rest = left.done ? right : left
      yield rest.take(Number.POSITIVE_INFINITY)
      await rest.fill()
      continue
    }
    const out: LogEntry[] = []
    while (!left.empty && !right.empty) out.push(left.head! <= right.head! ? left.next() : right.next())
    yield out
    await Promise.all([left.fill(), right.fill()])
  }
}

class Cursor {
  readonly #it: AsyncIterator<LogEntry[]>
  #chunk: LogEntry[] = []
  #i = 0
  done = false

  constructor(src: AsyncIterable<LogEntry[]>) {
    this.#it = src[Symbol.asyncIterator]()
  }

  get empty(): boolean {
    return this.#i >= this.#chunk.length
  }

  get head(): string | undefined {
    const e = this.#chunk[this.#i]
    return e && keyOf(e)
  }

  next(): LogEntry {
    return this.#chunk[this.#i++]!
  }

  take(n: number): LogEntry[] {
    const out = this.#chunk.slice(this.#i, this.#i + n)
    this.#i += out.length
    return out
  }

  async stop(): Promise<void> {
    if (!this.done) await this.#it.return?.()
    this.done = true
  }

  /** Loads the next non-empty chunk when the current one is used up; sets `done` at the end. */
  async fill(): Promise<void> {
    while (!this.done && this.empty) {
      const r = await this.#it.next()
      if (r.done) this.done = true
      else {
        this.#chunk = r.value
        this.#i = 0
      }
    }
  }
}
