import type { CounterFold, CounterMapState, Delta } from '@tally/crdt'
import type { MarksRecord } from '../resets/marks-record.js'
import type { StateSource } from './snapshot-source.js'
import type { WalDb } from './wal-db.js'

/**
 * Who this node is across restarts. `replicaId` is the CRDT replica id its
 * local writes go to; it changes (new incarnation) whenever the node cannot
 * prove it still holds every count it ever wrote under the old one (data dir
 * new or wiped), so a replica id is never reused with a lost state.
 */
export interface Identity {
  /** Operator-facing node id (`--id`). */
  nodeId: string
  /** Starts at 1; bumped each time the node starts without its old state. */
  incarnation: number
  /** CRDT replica id for local writes: `${nodeId}.${incarnation}`. */
  replicaId: string
}

/** The outcome of one acknowledged mutating request, kept so a retry with the same key gets the same answer. */
export interface IdempotencyRecord {
  key: string
  /** Counter name, operation and amount: a reuse of the key with a different request is refused. */
  name: string
  op: 'increment' | 'decrement'
  amount: number
  /** Counter value returned to the client the first time. */
  value: number
  /** When it was first acknowledged (ms since epoch); retention is measured from here. */
  at: number
  /**
   * CRDT replica whose operation `seq` applied the request. Absent only in
   * records written before keys were replicated (then the record is this
   * node's own and only answers retries here).
   */
  replica?: string
  /** Sequence number of that operation in `replica`. Present iff `replica` is. */
  seq?: number
  /** Which try of the client/gateway this was (`Tally-Attempt`, 1 = first); decides which of two applications stays. */
  attempt?: number
  /** True once this (own) application was cancelled by an inverse operation because another application of the key won. */
  compensated?: boolean
}

/** One slice of recovered counters: plain columns (format-2 snapshots, the folded log) or packed ones (format 3). Untrusted until merged. */
export type RecoveredSlice = { columns: unknown } | { packed: unknown }

/** What `Store.open` hands back so the node can rebuild its memory. */
export interface Recovered {
  identity: Identity
  /**
   * Latest snapshot, or null when there is none. A store may fold the later
   * log into it (LevelStore does, then `deltas` is empty): the result is the
   * same, since merging is idempotent and order-independent.
   */
  state: CounterMapState | null
  /**
   * The rest of the state, when a store hands it over a slice at a time
   * (LevelStore: the snapshot's chunks read from disk; `state` then holds
   * the summary): each item is a slice, plain columns to
   * merge with `CounterMap.mergeColumns` or packed ones for `CounterMap.mergePacked`
   * (`mergeSlice` in recovery.ts does either; idempotent and order-free, like `state`).
   * Iterate it once, right after open and before anything is appended; it
   * rejects with StoreError TALLY_WAL_CORRUPT for a slice found damaged as it
   * is read (LevelStore checks a counter chunk's checksum then, not at open),
   * which must refuse the start. Absent: `state` holds everything.
   */
  slices?: () => AsyncIterable<RecoveredSlice>
  /**
   * Optional: how many counters `slices` hold, about (a size hint: the map
   * makes room for them before merging, `CounterMap.reserve`).
   */
  sliceCounters?: number
  /**
   * Optional: counters the store has folded already (LevelStore: its log,
   * at open), for the map to take over as its own storage
   * (`CounterMap.adopt`: no copy) before `slices`, `state` and `deltas`
   * are merged into it. Take it once, right after open.
   */
  fold?: CounterFold
  /** Deltas logged after that snapshot, oldest first; applying them is idempotent. */
  deltas: Delta[]
  /**
   * Idempotency records still inside the retention window: this node's own
   * and those learnt from peers (several per key when a key was applied by
   * more than one replica). A record logged again with `compensated: true`
   * supersedes the earlier copy. LevelStore decodes them on the first read
   * of this property (a getter: read it after rebuilding the counters, so
   * they are not in the heap meanwhile; see recovered-records.ts).
   */
  idempotency: IdempotencyRecord[]
  /**
   * Optional: the same records as {@link idempotency}, decoded a few at a
   * time between event-loop turns (LevelStore: hundreds of thousands from a
   * snapshot never block the loop for long); `idempotency` returns the same
   * array afterwards. Rejects as reading `idempotency` throws.
   */
  readIdempotency?: () => Promise<IdempotencyRecord[]>
  /** Human-readable notes about recovery (e.g. a torn WAL tail that was cut). */
  warnings: string[]
  /**
   * Reset marks, TTLs, applied TTL versions and keyed answers of deletes/TTL
   * changes (those inside the retention window), folded from the snapshot
   * and the log. Absent: none.
   */
  marks?: MarksRecord
}

/**
 * Persistence seam of the daemon. The node applies an operation to memory,
 * then appends it here, and acknowledges only when the returned promise
 * resolves. Implementations: `MemoryStore` (tests, no durability) and the
 * LevelDB write-ahead log.
 */
export interface Store {
  /**
   * Opens (and locks) the store for node `nodeId` and returns what to rebuild.
   * Creates a new identity when none is stored. Rejects with a clear message
   * when the data dir is locked by another process or unreadable.
   */
  open(nodeId: string): Promise<Recovered>
  /**
   * Appends a local operation's delta (and its idempotency record, if the
   * request carried a key). Resolves once durable under the configured
   * durability policy; concurrent calls may share one sync (group commit).
   */
  appendLocal(delta: Delta, idem?: IdempotencyRecord): Promise<void>
  /**
   * Appends a delta merged from a peer that changed local state, with the
   * idempotency records of other replicas learnt alongside it (the delta
   * may then be empty: records alone).
   */
  appendRemote(delta: Delta, records?: readonly IdempotencyRecord[]): Promise<void>
  /**
   * Appends a change of reset marks / TTLs (resets/marks-record.ts). `local`:
   * made by this node (a delete, a TTL change, an applied expiry), resolved
   * once durable under the durability policy like {@link appendLocal};
   * otherwise merged from a peer, like {@link appendRemote}.
   */
  appendMarks(marks: MarksRecord, local: boolean): Promise<void>
  /**
   * Records `state` as a snapshot and drops the log entries it covers. The
   * caller passes the live state (a plain copy, or a source the store reads
   * a slice at a time: see {@link StateSource}) and every live idempotency
   * record (own and learnt); entries appended after the call are kept.
   */
  snapshot(state: CounterMapState | StateSource, idempotency: IdempotencyRecord[]): Promise<void>
  /**
   * Optional: false when nothing was logged since the latest snapshot (a new
   * one would hold the same), so the node skips it. Absent: always snapshot.
   */
  changedSinceSnapshot?(): boolean
  /**
   * Optional hint: true when enough log has piled up since the last snapshot
   * that the node should take one now (checked after appends).
   */
  needsSnapshot?(): boolean
  /**
   * Optional: the open database and whether its writes fsync, for record
   * kinds kept beside the log under their own keys (rate-limit buckets,
   * limits/limit-store.ts). Null until open. Absent: such records live in memory.
   */
  sharedDb?(): { db: WalDb; sync: boolean } | null
  /**
   * Optional: called once recovery has read everything `open` returned
   * (slices and key records), before the node serves, to release what only
   * recovery needed. Rejects with a StoreError: the node then refuses to start.
   */
  afterRecovery?(): Promise<void>
  /** Flushes and releases the store. Idempotent. */
  close(): Promise<void>
  /** Optional counters for metrics (e.g. `GET /metrics`); a fresh copy on each read. */
  readonly stats?: StoreStats
}

/** Counters a durable store reports: log batches written, how many were fsynced, operations logged, snapshots. */
export interface StoreStats {
  /** WAL batches written since open (one LevelDB write each; with `async` durability, one segment append each). */
  batches: number
  /** Of those, the ones written with fsync (`sync` durability, batch holding a local write). */
  syncs: number
  /** Operations logged since open (local and remote). */
  ops: number
  /** Operations logged since the last snapshot (what a restart would replay). */
  opsSinceSnapshot: number
  /** Snapshots written since open. */
  snapshots: number
  /** Bytes of WAL batches written since open (encoded records, before LevelDB's own framing). */
  bytes: number
}

/** Replica id for a node id and incarnation. */
export function replicaIdOf(nodeId: string, incarnation: number): string {
  return `${nodeId}.${incarnation}`
}
