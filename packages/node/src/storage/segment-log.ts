import { closeSync, fsync, openSync, writeSync } from 'node:fs'
import { mkdir, open, readdir, readFile, truncate, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { LogEntry } from './log-merge.js'
import { walSeqOf } from './record-codec.js'
import {
  encodeSegmentRecord,
  parseSegment,
  SEGMENT_MAGIC,
  segmentFirstSeq,
  segmentName,
  segmentPieces,
} from './segment-codec.js'

/** Most records in one chunk {@link SegmentLog.entries} yields: a chunk is dropped before the next is read. */
export const PIECE_RECORDS = 4096

const fsyncAsync = promisify(fsync)

interface SegmentFile {
  name: string
  first: number
  /** Last batch number written to (or read from) it; `first - 1` while it holds none. */
  last: number
}

/**
 * The append-only log `--durability async` writes its batches to, in
 * `<data-dir>/log/` (format: segment-codec.ts). An append is one
 * synchronous `write(2)` from the calling (event-loop) thread, so a batch is
 * in the OS page cache when `append` returns: a process crash (kill -9)
 * loses nothing appended, and there is no thread-pool round trip per group
 * commit. Nothing is fsynced on the write path; `syncAll` does it at a clean
 * close.
 *
 * A new file starts at open and at each `rotate` (the store rotates when a
 * snapshot fixes the position it covers), so `dropThrough(covered)` deletes
 * whole files once a snapshot covers them. Read back at open with
 * `entries()`, in the WAL's `[key, frame]` shape, for the same log scan.
 */
export class SegmentLog {
  readonly #dir: string
  #files: SegmentFile[]
  #current: SegmentFile | null = null
  #fd: number | null = null
  /**
   * Keys of the torn ends {@link entries} found (a record cut short at the end
   * of its file: what a write interrupted by the process's death leaves).
   */
  readonly tornTails = new Set<string>()

  private constructor(dir: string, files: SegmentFile[]) {
    this.#dir = dir
    this.#files = files
  }

  /** Lists the segments in `dir` (created if missing). Rejects on I/O errors. Does not read them yet. */
  static async open(dir: string): Promise<SegmentLog> {
    await mkdir(dir, { recursive: true })
    const files: SegmentFile[] = []
    for (const name of await readdir(dir)) {
      const first = segmentFirstSeq(name)
      if (first !== null) files.push({ name, first, last: first - 1 })
    }
    files.sort((a, b) => a.first - b.first)
    return new SegmentLog(dir, files)
  }

  /** True while no segment file exists. */
  get empty(): boolean {
    return this.#files.length === 0
  }

  /**
   * Every record of every segment, oldest first, in chunks of WAL entries
   * (`[walKey(seq), frame]`, at most {@link PIECE_RECORDS} a chunk); one file
   * in memory at a time. A file's torn end is yielded as its next key with an
   * empty frame, which the log scan treats as damage. Iterate once, right
   * after `open`. Rejects on I/O errors.
   */
  async *entries(): AsyncGenerator<LogEntry[]> {
    for (const file of this.#files) {
      const bytes = await readSegment(join(this.#dir, file.name))
      for (const piece of segmentPieces(bytes, file.first, PIECE_RECORDS)) {
        const rows: LogEntry[] = piece.rows
        const last = piece.rows.at(-1)
        if (last) file.last = Math.max(file.last, last[2])
        if (piece.torn) {
          this.tornTails.add(piece.torn.key)
          rows.push([piece.torn.key, new Uint8Array(0)])
        }
        if (rows.length > 0) yield rows
      }
    }
  }

  /**
   * Removes the records under `keys` (the ones recovery cut, all from some
   * point of the log on) and everything after them in their files: a file
   * is truncated at its first cut record, or deleted when that is its first.
   * Keys that are not segment records are ignored. Reads again the files
   * whose batch numbers (as {@link entries} found them, torn end included)
   * hold a cut key: nothing is kept per record meanwhile. Rejects on I/O errors.
   */
  async cut(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    const want = new Set(keys)
    const seqs = keys.map((k) => walSeqOf(k)).filter((s): s is number => s !== null)
    const from = new Map<SegmentFile, number>()
    for (const file of this.#files) {
      if (!seqs.some((s) => s >= file.first && s <= file.last + 1)) continue
      let offset = Number.POSITIVE_INFINITY
      const bytes = await readSegment(join(this.#dir, file.name))
      const parsed = parseSegment(bytes, file.first)
      for (const e of parsed.entries) if (want.has(e.key)) offset = Math.min(offset, e.offset)
      if (parsed.torn && want.has(parsed.torn.key)) offset = Math.min(offset, parsed.torn.offset)
      if (offset !== Number.POSITIVE_INFINITY) from.set(file, offset)
    }
    for (const [file, offset] of from) {
      if (offset <= SEGMENT_MAGIC.length) {
        this.#files = this.#files.filter((f) => f !== file)
        await unlinkIfThere(join(this.#dir, file.name))
      } else await truncate(join(this.#dir, file.name), offset)
    }
  }

  /**
   * Appends batch `seq`'s frame: one synchronous write(2) on the calling
   * thread (blocks it for that call only; no fsync). Batch numbers must
   * grow. Throws the system error (ENOSPC, EIO, …) when the write fails;
   * the record may then be torn, which recovery cuts.
   */
  append(seq: number, frame: Uint8Array): void {
    this.appendRecord(seq, encodeSegmentRecord(seq, frame))
  }

  /**
   * {@link append} of a whole segment record of batch `seq` (header and
   * frame, as `encodeSegmentRecord` or `segmentRecordOf` make it).
   */
  appendRecord(seq: number, record: Uint8Array): void {
    if (this.#fd === null) {
      const file: SegmentFile = { name: segmentName(seq), first: seq, last: seq - 1 }
      // 'w': a leftover file of that name can only hold records recovery did not keep.
      this.#fd = openSync(join(this.#dir, file.name), 'w')
      this.#current = file
      this.#files.push(file)
      const withMagic = new Uint8Array(SEGMENT_MAGIC.length + record.length)
      withMagic.set(SEGMENT_MAGIC)
      withMagic.set(record, SEGMENT_MAGIC.length)
      record = withMagic
    }
    for (let off = 0; off < record.length; ) off += writeSync(this.#fd, record, off, record.length - off)
    this.#current!.last = seq
  }

  /** Ends the current file: the next append starts a new one. Synchronous; does not fsync. */
  rotate(): void {
    if (this.#fd === null) return
    closeSync(this.#fd)
    this.#fd = null
    this.#current = null
  }

  /**
   * Deletes every file (but the one being written) whose records are all at
   * or below batch `covered`. Calls may overlap: a file leaves the list before
   * its unlink, and one already gone from disk counts as deleted.
   */
  async dropThrough(covered: number): Promise<void> {
    const gone = this.#files.filter((f) => f !== this.#current && f.last <= covered)
    this.#files = this.#files.filter((f) => !gone.includes(f))
    for (const f of gone) await unlinkIfThere(join(this.#dir, f.name))
  }

  /** fsyncs every segment file and the directory (a clean close: afterwards a power loss loses nothing). */
  async syncAll(): Promise<void> {
    for (const f of this.#files) {
      if (f === this.#current && this.#fd !== null) {
        await fsyncAsync(this.#fd)
        continue
      }
      const h = await open(join(this.#dir, f.name), 'r')
      try {
        await h.sync()
      } finally {
        await h.close()
      }
    }
    const d = await open(this.#dir, 'r')
    try {
      await d.sync()
    } finally {
      await d.close()
    }
  }

  /** Closes the current file (no fsync: call `syncAll` first for that). Idempotent. */
  close(): void {
    this.rotate()
  }
}

// Deletes `path`; a file that is already gone is what was asked for (another
// store over the same directory, such as a crashed one's leftover work, got
// there first). Rejects on any other I/O error.
async function unlinkIfThere(path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}

/**
 * The bytes of segment file `path` as a plain Uint8Array over the buffer
 * readFile made for it (a Buffer of its own, not a slice of the shared
 * pool): the log scan reads its frames where they lie (a view, where one is
 * made, is a plain Uint8Array, not a Buffer), and the file is not copied (73 MB at a million one-operation records: about
 * 40 ms, and as much memory again for a moment). Rejects on I/O errors.
 */
async function readSegment(path: string): Promise<Uint8Array> {
  const buf = await readFile(path)
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}
