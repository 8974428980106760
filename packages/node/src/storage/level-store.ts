// Past the ~400-line guide on purpose: LevelStore is the one owner of the
// open LevelDB handle, the lock, the group commit and the snapshot manifest,
// and its open/recover/append/snapshot/close sequence shares that state. The
// pure pieces live beside it: record-codec.ts, wal-scan.ts, recovery-fold.ts,
// identity.ts, snapshot-reader.ts, group-commit.ts.

import { join, resolve } from 'node:path'
import type { CounterMapState, Delta, Summary } from '@tally/crdt'
import type { Logger } from 'pino'
import {
  encodeMarksRecord,
  isEmptyMarks,
  MarksFold,
  type MarksRecord,
  readMarksRecord,
} from '../resets/marks-record.js'
import { readBootId } from './boot-id.js'
import { GroupCommit } from './group-commit.js'
import { decideIdentity, ForeignDataDirError } from './identity.js'
import { mergeLogs } from './log-merge.js'
import { oneOpApplier } from './one-op-frame.js'
import {
  decodeIdentity,
  decodeMarker,
  encodeBatch,
  encodeFrame,
  IDENTITY_KEY,
  type LogOp,
  type ReadOp,
  RUNNING_KEY,
  type RunningMarker,
  SNAPSHOT_KEY,
  WAL_PREFIX,
  walKey,
} from './record-codec.js'
import { recoveredRecords } from './recovered-records.js'
import { StateFold } from './recovery-fold.js'
import { reopenForServing } from './release-reads.js'
import { RECORD_HEADER, segmentRecordOf } from './segment-codec.js'
import { SegmentLog } from './segment-log.js'
import {
  CHUNK_END,
  CHUNK_PREFIX,
  chunkRange,
  decodeSnapshotValue,
  SNAPSHOT_FORMAT,
  type SnapshotManifest,
} from './snapshot-codec.js'
import { withoutNames, withoutPackedNames } from './snapshot-drops.js'
import { checkChunks, damagedSnapshot, readSlices } from './snapshot-reader.js'
import { isStateSource, plainSource, type StateSource } from './snapshot-source.js'
import { CHUNK_ENTRIES, writeSnapshotChunks } from './snapshot-writer.js'
import {
  type IdempotencyRecord,
  type Recovered,
  type RecoveredSlice,
  replicaIdOf,
  type Store,
  type StoreStats,
} from './store.js'
import { StoreError, StoreErrorCodes } from './store-errors.js'
import { defaultOpenDb, openAt, type WalDb, walEntries } from './wal-db.js'
import { type CorruptionPolicy, scanWal } from './wal-scan.js'

/** Options of {@link LevelStore}. Only `dataDir` is required. */
export interface LevelStoreOptions {
  /** Directory of this node's data; the LevelDB lives in `<dataDir>/db`. Created if missing. */
  dataDir: string
  /** `sync` (default): a local write resolves after its batch is fsynced. `async`: after the OS has it (a segment file in `<dataDir>/log`, segment-log.ts). */
  durability?: 'sync' | 'async'
  /** Idempotency records older than this (ms) are dropped at open and from snapshots. Default 24 h. */
  idempotencyTtl?: number
  /** `needsSnapshot()` turns true after this many logged operations since the last snapshot. Default 100 000. */
  snapshotEveryOps?: number
  /** Most operations per WAL batch. Default 4096. */
  maxBatch?: number
  /** Damage in the middle of the log: refuse to open (default) or cut from there. */
  corruption?: CorruptionPolicy
  logger?: Logger
  /** Clock (ms since epoch) and randomness, injectable for tests. */
  now?: () => number
  random?: () => number
  /** This machine's boot id; default read from the kernel (null where unknown). */
  bootId?: string | null
  /** Opens the key-value store at a location; default LevelDB (`level`). Tests pass memory-level. */
  openDb?: (location: string) => WalDb
}

/** Counters for tests, metrics and benchmarks (see {@link StoreStats}). */
export type LevelStoreStats = StoreStats

const DAY = 24 * 60 * 60 * 1000

/**
 * The durable Store: a write-ahead log in LevelDB with group commit,
 * snapshots, checksummed records, crash recovery, replica identity and a
 * data-dir lock (LevelDB's LOCK file). See the package README, "Durability".
 */
export class LevelStore implements Store {
  readonly #o: Required<Omit<LevelStoreOptions, 'logger' | 'bootId' | 'openDb'>>
  readonly #logger: Logger | undefined
  readonly #bootId: string | null
  readonly #openDb: (location: string) => WalDb
  #db: WalDb | null = null
  // `async` appends go here (one write(2) from the event loop), not to LevelDB; read back in both modes.
  #segs: SegmentLog | null = null
  #queue: GroupCommit<LogOp> | null = null
  #nextSeq = 1
  #failed: StoreError | null = null
  #cleanup: Promise<void> = Promise.resolve()
  // Snapshots write their chunks one after another; the last one's end (never rejects).
  #snapChain: Promise<void> = Promise.resolve()
  // Generation of the latest snapshot started (its chunks are keyed by it).
  #gen = 0
  #closing: Promise<void> | null = null
  #stats: LevelStoreStats = { batches: 0, syncs: 0, ops: 0, opsSinceSnapshot: 0, snapshots: 0, bytes: 0 }

  /** Does no I/O; `open` does. Throws RangeError for nonsensical options. */
  constructor(opts: LevelStoreOptions) {
    this.#o = {
      dataDir: resolve(opts.dataDir),
      durability: opts.durability ?? 'sync',
      idempotencyTtl: opts.idempotencyTtl ?? DAY,
      snapshotEveryOps: opts.snapshotEveryOps ?? 100_000,
      maxBatch: opts.maxBatch ?? 4096,
      corruption: opts.corruption ?? 'refuse',
      now: opts.now ?? Date.now,
      random: opts.random ?? Math.random,
    }
    if (!(this.#o.idempotencyTtl >= 0)) throw new RangeError('idempotencyTtl must be >= 0')
    if (!(this.#o.snapshotEveryOps >= 1)) throw new RangeError('snapshotEveryOps must be >= 1')
    this.#logger = opts.logger
    this.#bootId = opts.bootId === undefined ? readBootId() : opts.bootId
    this.#openDb = opts.openDb ?? defaultOpenDb
  }

  /** The data dir (absolute). */
  get dataDir(): string {
    return this.#o.dataDir
  }

  /** The open database and its durability, for records kept beside the log (see Store.sharedDb). */
  sharedDb(): { db: WalDb; sync: boolean } | null {
    return this.#db && { db: this.#db, sync: this.#o.durability === 'sync' }
  }

  /** Counters since open. */
  get stats(): LevelStoreStats {
    return { ...this.#stats }
  }

  /**
   * Opens and locks the store and recovers: latest snapshot, then every later
   * intact WAL batch folded into it (so `deltas` is always empty). Rejects
   * with StoreError TALLY_DATA_DIR_LOCKED (another process has the dir),
   * TALLY_DATA_DIR_UNREADABLE, TALLY_DATA_DIR_MISMATCH (another node's dir) or
   * TALLY_WAL_CORRUPT (damage recovery must not guess past).
   */
  async open(nodeId: string): Promise<Recovered> {
    if (this.#db) throw new Error('store is already open') // a programmer mistake, not a store condition
    const dir = this.#o.dataDir
    const db = await openAt(dir, this.#openDb)
    try {
      return await this.#recover(db, nodeId)
    } catch (err) {
      await db.close().catch(() => {})
      if (err instanceof ForeignDataDirError) {
        throw new StoreError(StoreErrorCodes.DATA_DIR_MISMATCH, `${err.message} (data dir ${dir})`, {
          path: dir,
        })
      }
      if (err instanceof StoreError) throw err
      throw new StoreError(
        StoreErrorCodes.DATA_DIR_UNREADABLE,
        `cannot recover data dir ${dir}: ${msg(err)}`,
        {
          path: dir,
          cause: err,
        },
      )
    }
  }

  async #recover(db: WalDb, nodeId: string): Promise<Recovered> {
    const now = this.#o.now()
    const warnings: string[] = []
    const idRaw = await db.get(IDENTITY_KEY)
    const id = idRaw === undefined ? null : decodeIdentity(idRaw)
    if (id && 'reason' in id)
      warnings.push(`stored identity unreadable (${id.reason}): starting a new incarnation`)
    const marker = decodeMarker(await db.get(RUNNING_KEY))
    const snapRaw = await db.get(SNAPSHOT_KEY)
    const snap = snapRaw === undefined ? null : decodeSnapshotValue(snapRaw)
    if (snap && 'reason' in snap) throw damagedSnapshot(this.#o.dataDir, snap.reason)
    const manifest = snap && 'manifest' in snap ? snap.manifest : null
    const v1 = snap && 'snapshot' in snap ? snap.snapshot : null
    const covered = manifest?.covered ?? v1?.covered ?? 0
    let fold: StateFold
    try {
      fold = new StateFold(v1?.state ?? null)
      if (manifest) fold.mergeState({ vv: manifest.vv })
    } catch (err) {
      throw damagedSnapshot(this.#o.dataDir, `invalid: ${msg(err)}`)
    }
    const recordChunks = manifest ? await checkChunks(db, manifest, this.#o.dataDir) : []
    // The log's key records, in order: kept by the RecordSet rule after the snapshot's (recovered-records.ts).
    const logged: IdempotencyRecord[] = []
    const marks = new MarksFold()
    if (manifest?.m !== undefined) {
      const m = readMarksRecord(manifest.m)
      if (!m) throw damagedSnapshot(this.#o.dataDir, 'malformed reset marks')
      marks.add(m)
    }
    const segs = await SegmentLog.open(join(this.#o.dataDir, 'log'))
    const scan = await scanWal(
      segs.empty ? walEntries(db) : mergeLogs(walEntries(db), segs.entries()),
      covered,
      (ops) => applyOps(fold, logged, marks, ops),
      this.#o.corruption,
      oneOpApplier(fold),
    )
    warnings.push(...scan.warnings)

    const sameBootCrash = marker !== null && this.#bootId !== null && marker.bootId === this.#bootId
    const decision = decideIdentity({
      nodeId,
      stored: id && 'identity' in id ? id.identity : null,
      marker,
      bootId: this.#bootId,
      // A segment's torn end after a process crash on this boot is a write the kill interrupted:
      // never acknowledged nor sent (both wait for the write to return), so nothing is lost.
      cutRecords: scan.cut.some((k) => !(sameBootCrash && segs.tornTails.has(k))),
      now,
      random: this.#o.random(),
    })
    if (decision.reason) warnings.push(`new incarnation ${decision.identity.incarnation}: ${decision.reason}`)
    const runMarker: RunningMarker = {
      pid: process.pid,
      bootId: this.#bootId,
      durability: this.#o.durability,
      at: now,
    }
    const ops: WalBatchOp[] = [{ type: 'put', key: RUNNING_KEY, value: encodeFrame(runMarker) }]
    if (decision.fresh) ops.push({ type: 'put', key: IDENTITY_KEY, value: encodeFrame(decision.identity) })
    for (const key of [...scan.stale, ...scan.cut]) ops.push({ type: 'del', key })
    await db.batch(ops, { sync: true })
    // Only after the new incarnation (if any) is stored: a crash in between finds the damage again.
    await segs.cut(scan.cut)
    await segs.dropThrough(covered)
    // Chunks of any other generation: an interrupted or superseded snapshot's.
    this.#gen = manifest?.gen ?? 0
    const keep = chunkRange(this.#gen)
    await db.clear({ gte: CHUNK_PREFIX, lt: keep.gte })
    await db.clear({ gte: keep.lt, lt: CHUNK_END })

    this.#db = db
    this.#segs = segs
    this.#closing = null
    this.#nextSeq = scan.last + 1
    this.#queue = this.#groupCommit()
    this.#stats.opsSinceSnapshot = scan.ops
    const { incarnation } = decision.identity
    const identity = { nodeId, incarnation, replicaId: replicaIdOf(nodeId, incarnation) }
    this.#logger?.info(
      {
        dataDir: this.#o.dataDir,
        replica: identity.replicaId,
        snapshot: covered,
        walBatches: scan.batches,
        warnings: warnings.length, // the caller logs each (Recovered.warnings)
      },
      'store recovered',
    )
    const kept = marks.record(now - this.#o.idempotencyTtl)
    const dataDir = this.#o.dataDir
    const records = recoveredRecords({
      snapshot: v1?.idempotency ?? [],
      chunks: recordChunks,
      logged,
      now,
      ttl: this.#o.idempotencyTtl,
      badChunk: (index, reason) => damagedSnapshot(dataDir, `key-record chunk ${index}: ${reason}`),
    })
    return {
      identity,
      ...(isEmptyMarks(kept) ? {} : { marks: kept }),
      // The counters come as slices (the snapshot's, then the folded log's), the summary as `state`.
      state: snap || scan.ops > 0 ? { vv: fold.summary(), counters: {} } : null,
      // The log folded at open (the map adopts it, or merges it after the snapshot), and the snapshot in slices.
      ...(fold.counters > 0 ? { fold: fold.fold } : {}),
      ...(manifest && manifest.chunks > 0 ? { slices: () => this.#slices(manifest, marks.dropped) } : {}),
      // The manifest's count (a hint), no more than its chunks can hold (a chunk ends once it has CHUNK_ENTRIES entries).
      ...(manifest?.n !== undefined && manifest.chunks > 0
        ? { sliceCounters: Math.min(manifest.n, manifest.chunks * CHUNK_ENTRIES) }
        : {}),
      deltas: [],
      // Decoded on first read (after the map is built: see recovered-records.ts).
      get idempotency() {
        return records()
      },
      readIdempotency: records.load,
      warnings,
    }
  }

  // The snapshot's slices, less the counters the log dropped after it (the fold has what the log wrote of them since).
  async *#slices(m: SnapshotManifest, dropped: ReadonlySet<string>): AsyncGenerator<RecoveredSlice> {
    if (!this.#db) throw closedError()
    for await (const slice of readSlices(this.#db, m, this.#o.dataDir))
      yield 'packed' in slice
        ? { packed: withoutPackedNames(slice.packed, dropped) }
        : { columns: withoutNames(slice.columns, dropped) }
  }

  /**
   * Call once recovery has read everything (slices and key records), before
   * serving: reopens the database so LevelDB unmaps the tables recovery read
   * (release-reads.ts). Rejects with StoreError TALLY_DATA_DIR_LOCKED or
   * TALLY_DATA_DIR_UNREADABLE; the store has then failed (close() releases it).
   */
  async afterRecovery(): Promise<void> {
    if (this.#failed) throw this.#failed
    if (!this.#db || !this.#queue || this.#closing) throw closedError()
    await this.#queue.flush()
    try {
      await reopenForServing(this.#db, this.#o.dataDir)
    } catch (err) {
      this.#failed = err as StoreError
      throw err
    }
  }

  // The log's group commit. Built here, not inside #recover: a closure keeps its whole function's
  // scope alive, and #recover's holds what only recovery needs (the key records read, the
  // snapshot's chunks, the folded log), which would then live as long as the store.
  #groupCommit(): GroupCommit<LogOp> {
    // An async append returns at once, so nothing ever queues behind a write in flight: gather
    // the whole turn instead (one append for the writes of every connection read in it).
    return new GroupCommit((items) => this.#writeBatch(items), {
      maxBatch: this.#o.maxBatch,
      gather: this.#o.durability === 'async' ? 'turn' : 'microtask',
    })
  }

  /** Logs a local operation's delta (and idempotency record) under the durability policy; group-committed. */
  appendLocal(delta: Delta, idem?: IdempotencyRecord): Promise<void> {
    return this.#submit(idem ? { kind: 'local', delta, idem } : { kind: 'local', delta })
  }

  /**
   * Logs a delta merged from a peer, with the idempotency records learnt
   * alongside it. Never fsynced on its own (peers still hold it); it reaches
   * the disk with the next synced batch or snapshot.
   */
  appendRemote(delta: Delta, records?: readonly IdempotencyRecord[]): Promise<void> {
    return this.#submit(
      records?.length ? { kind: 'remote', delta, records: [...records] } : { kind: 'remote', delta },
    )
  }

  /** Logs a change of reset marks / TTLs; a `local` one is durable like {@link appendLocal}. */
  appendMarks(marks: MarksRecord, local: boolean): Promise<void> {
    return this.#submit({ kind: 'marks', marks, local })
  }

  #submit(op: LogOp): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed)
    if (!this.#queue || this.#closing) return Promise.reject(closedError())
    return this.#queue.submit(op)
  }

  async #writeBatch(items: LogOp[]): Promise<void> {
    if (this.#failed) throw this.#failed
    const db = this.#db!
    const seq = this.#nextSeq
    const sync =
      this.#o.durability === 'sync' &&
      items.some((op) => op.kind === 'local' || (op.kind === 'marks' && op.local))
    let bytes = 0
    try {
      if (this.#o.durability === 'async') {
        const record = segmentRecordOf(seq, items)
        bytes = record.length - RECORD_HEADER
        this.#segs!.appendRecord(seq, record)
      } else {
        const encoded = encodeBatch(seq, items)
        bytes = encoded.length
        await db.put(walKey(seq), encoded, { sync })
      }
    } catch (err) {
      this.#failed = new StoreError(
        StoreErrorCodes.STORE_FAILED,
        `write-ahead log write failed: ${msg(err)}`,
        {
          path: this.#o.dataDir,
          cause: err,
        },
      )
      this.#logger?.error({ err, dataDir: this.#o.dataDir }, 'write-ahead log write failed; store stopped')
      throw this.#failed
    }
    this.#nextSeq = seq + 1
    this.#stats.batches++
    if (sync) this.#stats.syncs++
    this.#stats.ops += items.length
    this.#stats.opsSinceSnapshot += items.length
    this.#stats.bytes += bytes
  }

  /**
   * Records `state` as the snapshot and then drops the WAL batches (and the
   * older snapshot's chunks) it covers. `state` must include every delta
   * already passed to `appendLocal`/`appendRemote` (the daemon applies to
   * memory before appending); appends made after this call stay in the log.
   *
   * Never blocks the event loop for long: the log position it covers is fixed
   * at once (behind the appends already queued), then the state is encoded
   * and written a slice at a time (`state` may be a {@link StateSource}
   * read over many turns, e.g. the live map), and finally a small manifest
   * is written with fsync behind the appends queued meanwhile; only then
   * does the snapshot exist. Appends go on throughout. Rejects (and the
   * previous snapshot stays) if the store failed or closed meanwhile.
   */
  snapshot(state: CounterMapState | StateSource, idempotency: IdempotencyRecord[]): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed)
    if (!this.#queue || this.#closing) return Promise.reject(closedError())
    const queue = this.#queue
    const src = isStateSource(state) ? state : plainSource(state)
    const at = this.#o.now()
    const gen = ++this.#gen
    let covered = 0
    let opsAt = 0
    let vv: Summary = {}
    let marks: MarksRecord | undefined
    // Fixes the covered position synchronously behind everything already queued.
    const fixed = queue.barrier(async () => {
      if (this.#failed) throw this.#failed
      covered = this.#nextSeq - 1
      // Later appends go to a new segment file, so the covered ones can be deleted whole.
      this.#segs!.rotate()
      opsAt = this.#stats.ops
      vv = src.summary()
      marks = src.marks?.()
    })
    const run = Promise.all([fixed, this.#snapChain]).then(async () => {
      const cutoff = at - this.#o.idempotencyTtl
      const live = idempotency.filter((r) => r.at > cutoff)
      const { chunks, recordChunks, counters } = await writeSnapshotChunks(this.#db!, gen, src, live)
      await queue.barrier(async () => {
        // After a failed write the memory may hold operations that were refused: do not persist them.
        if (this.#failed) throw this.#failed
        const manifest: SnapshotManifest = {
          v: SNAPSHOT_FORMAT,
          covered,
          at,
          gen,
          chunks,
          recordChunks,
          n: counters,
          vv,
        }
        if (marks && !isEmptyMarks(marks)) manifest.m = encodeMarksRecord(marks)
        await this.#db!.batch([{ type: 'put', key: SNAPSHOT_KEY, value: encodeFrame(manifest) }], {
          sync: true,
        })
        this.#stats.opsSinceSnapshot = this.#stats.ops - opsAt
        this.#stats.snapshots++
        // Dropping covered batches need not hold up appends: recovery skips anything at or below `covered`.
        this.#cleanup = this.#cleanup.then(() => this.#truncate(covered, gen))
      })
    })
    this.#snapChain = run.then(
      () => {},
      () => {},
    )
    return run
  }

  async #truncate(covered: number, gen: number): Promise<void> {
    const db = this.#db
    if (!db) return
    try {
      await db.clear({ gte: CHUNK_PREFIX, lt: chunkRange(gen).gte })
      await this.#segs?.dropThrough(covered)
      if (covered === 0) return
      await db.clear({ gte: WAL_PREFIX, lte: walKey(covered) })
      await db.compactRange?.(WAL_PREFIX, walKey(covered))
    } catch (err) {
      this.#logger?.warn(
        { err, dataDir: this.#o.dataDir },
        'dropping snapshotted log entries failed; will retry',
      )
    }
  }

  /** True once `snapshotEveryOps` operations were logged since the last snapshot. */
  needsSnapshot(): boolean {
    return this.#stats.opsSinceSnapshot >= this.#o.snapshotEveryOps
  }

  /** False when nothing was logged since the log position the latest snapshot covers: a new one would be the same. */
  changedSinceSnapshot(): boolean {
    return this.#stats.opsSinceSnapshot > 0
  }

  /**
   * Waits for queued writes, removes the running marker (a clean shutdown:
   * the next open keeps the incarnation) and releases the lock. Take a final
   * `snapshot` first for a fast next start. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#doClose()
    return this.#closing
  }

  async #doClose(): Promise<void> {
    const db = this.#db
    if (!db) return
    await this.#snapChain
    await this.#queue!.flush()
    await this.#cleanup
    try {
      if (!this.#failed) {
        // Segments are never fsynced while running: a clean close must leave nothing only in the page cache.
        await this.#segs!.syncAll()
        await db.batch([{ type: 'del', key: RUNNING_KEY }], { sync: true })
      }
    } finally {
      this.#segs!.close()
      this.#segs = null
      await db.close()
      this.#db = null
      this.#queue = null
    }
  }
}

type WalBatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }

function applyOps(
  fold: StateFold,
  idem: IdempotencyRecord[],
  marks: MarksFold,
  ops: ReadOp[],
): string | null {
  // A record whose later op is refused keeps its earlier (valid, checksummed) ops applied.
  for (const op of ops) {
    if (op.kind === 'marks') {
      marks.add(op.marks)
      for (const name of op.marks.dropped ?? []) fold.drop(name)
      continue
    }
    const why = op.kind === 'one' ? fold.applyOne(op.name, op.r, op.p, op.n, op.s) : fold.apply(op.delta)
    if (why) return `invalid delta: ${why}`
    // One record per application of a key; a later copy may only add `compensated`.
    if ((op.kind === 'local' || op.kind === 'one') && op.idem) idem.push(op.idem)
    else if (op.kind === 'remote' && op.records) for (const r of op.records) idem.push(r)
  }
  return null
}

function closedError(): StoreError {
  return new StoreError(StoreErrorCodes.STORE_CLOSED, 'store is not open')
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
