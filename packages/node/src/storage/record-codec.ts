import type { CounterMapState, Delta } from '@tally/crdt'
import { Packr } from 'msgpackr'
import { encodeMarksRecord, type MarksRecord, readMarksRecord } from '../resets/marks-record.js'
import { crc32 } from './crc32.js'
import { KEY_ROW, keyRow, readKeyRow } from './key-row-codec.js'
import { plainBatch } from './plain-batch.js'
import type { IdempotencyRecord } from './store.js'

// On-disk layout of the LevelDB write-ahead log. Every value is a frame:
// 4-byte big-endian CRC-32 of the payload, then the msgpack payload. A frame
// whose checksum or shape is wrong is reported, never decoded into state.

// variableMapSize: a snapshot can hold more than 65 535 counters (fixed 16-bit map sizes would throw).
const packr = new Packr({
  useRecords: false,
  int64AsType: 'number',
  mapsAsObjects: true,
  variableMapSize: true,
})

/** Key of the stored identity (node id and incarnation). */
export const IDENTITY_KEY = 'id'
/** Key of the "running" marker: present while a process has the store open; absent after a clean close. */
export const RUNNING_KEY = 'run'
/** Key of the one current snapshot. */
export const SNAPSHOT_KEY = 'snap'
/** Every WAL key starts with this; keys sort in log order. */
export const WAL_PREFIX = 'w:'
/** Upper bound (exclusive) for a range over every WAL key. */
export const WAL_END = 'w;'

/** WAL key of batch number `seq` (a positive safe integer): fixed-width hex so string order = numeric order. */
export function walKey(seq: number): string {
  return WAL_PREFIX + seq.toString(16).padStart(14, '0')
}

/** Batch number of a WAL key, or null when the key is not a well-formed WAL key. */
export function walSeqOf(key: string): number | null {
  if (key.length !== WAL_PREFIX.length + 14 || !key.startsWith(WAL_PREFIX)) return null
  let n = 0
  for (let i = WAL_PREFIX.length; i < key.length; i++) {
    const c = key.charCodeAt(i)
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1
    if (d < 0) return null
    n = n * 16 + d
  }
  return Number.isSafeInteger(n) && n > 0 ? n : null
}

/**
 * One logged operation: a local write (with its idempotency record, if any)
 * or a merged remote delta (with the idempotency records of other replicas
 * learnt alongside it, if any).
 */
export type LogOp =
  | { kind: 'local'; delta: Delta; idem?: IdempotencyRecord }
  | { kind: 'remote'; delta: Delta; records?: IdempotencyRecord[] }
  | { kind: 'marks'; marks: MarksRecord; local: boolean }

/**
 * A compact single-operation local write as recovery reads it (`readBatch`):
 * the delta `{ ranges: [[r, s − 1, s]], entries: [[name, r, p, n, s]] }`
 * without building it. Fields are unchecked (see `StateFold.applyOne`).
 */
export interface OneOp {
  kind: 'one'
  name: unknown
  r: unknown
  p: unknown
  n: unknown
  s: number
  idem?: IdempotencyRecord
}

/** An operation as recovery reads it: a {@link LogOp}, or a compact local write not expanded. */
export type ReadOp = LogOp | OneOp

/** A logged operation that carries a CounterMap delta (every kind but reset marks). */
export type DeltaOp = Exclude<LogOp, { kind: 'marks' }>

/** Stored identity. `createdAt` is informational (ms since epoch). */
export interface StoredIdentity {
  nodeId: string
  incarnation: number
  createdAt: number
}

/** What the running marker remembers about the process that wrote it. */
export interface RunningMarker {
  pid: number
  /** Kernel boot id when known: same boot means the OS page cache survived a process crash. */
  bootId: string | null
  durability: 'sync' | 'async'
  at: number
}

/** A snapshot: the full state covering every WAL batch up to and including `covered`. */
export interface SnapshotRecord {
  covered: number
  at: number
  state: CounterMapState
  idempotency: IdempotencyRecord[]
}

/** Wraps `payload` in a checksummed frame. Throws only for values msgpack cannot encode (a programmer error). */
export function encodeFrame(payload: unknown): Uint8Array {
  const body = packr.pack(payload)
  const out = new Uint8Array(4 + body.length)
  new DataView(out.buffer).setUint32(0, crc32(body))
  out.set(body, 4)
  return out
}

/** Result of opening a frame: the payload, or why it is unusable. */
export type Decoded = { ok: true; value: unknown } | { ok: false; reason: string }

/** Checks a frame's checksum and decodes it. Pure; never throws. */
export function decodeFrame(bytes: Uint8Array | undefined): Decoded {
  if (!bytes || bytes.length < 5)
    return { ok: false, reason: `frame too short (${bytes?.length ?? 0} bytes)` }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const body = bytes.subarray(4)
  const want = view.getUint32(0)
  const got = crc32(body)
  if (want !== got)
    return { ok: false, reason: `checksum mismatch (stored ${hex8(want)}, computed ${hex8(got)})` }
  try {
    return { ok: true, value: packr.unpack(body) }
  } catch (err) {
    return { ok: false, reason: `undecodable payload: ${(err as Error).message}` }
  }
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0')
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
}

/**
 * Encodes WAL batch `seq` holding `ops`. Rows: `[0, delta, idem?]` local,
 * `[1, delta, records?]` remote, and the common single-op local delta (one entry of
 * replica r at seq s, range (s-1, s]) compactly as `[2, name, r, p, n, s, idem?]`:
 * half the bytes and far less to decode at recovery. Reset marks, TTLs and
 * their keyed answers: `[3, record, local 0|1]` (resets/marks-record.ts). A
 * one-op local write with its own key record: `[4, …]` (key-row-codec.ts).
 */
export function encodeBatch(seq: number, ops: readonly LogOp[]): Uint8Array {
  return plainBatch(seq, ops, 0) ?? encodeBatchGeneral(seq, ops)
}

/**
 * {@link encodeBatch} through msgpackr for every batch: the same bytes. What
 * a batch that is not all plain single-operation writes takes (plain-batch.ts
 * writes those directly); tests compare the two.
 */
export function encodeBatchGeneral(seq: number, ops: readonly LogOp[]): Uint8Array {
  const rows = ops.map((op) => {
    if (op.kind === 'marks') return [3, encodeMarksRecord(op.marks), op.local ? 1 : 0]
    if (op.kind === 'remote') return op.records?.length ? [1, op.delta, op.records] : [1, op.delta]
    const one = singleOp(op.delta)
    if (one) return op.idem ? (keyRow(one, op.idem) ?? [2, ...one, op.idem]) : [2, ...one]
    return op.idem ? [0, op.delta, op.idem] : [0, op.delta]
  })
  return encodeFrame({ s: seq, o: rows })
}

function singleOp(d: Delta): [string, string, number, number, number] | null {
  if (d.ranges.length !== 1 || d.entries.length !== 1) return null
  const [r, from, to] = d.ranges[0]!
  const [name, er, p, n, s] = d.entries[0]!
  return er === r && s === to && from === to - 1 ? [name, r, p, n, s] : null
}

/**
 * Decodes WAL batch `seq`. Returns the ops, or a reason when the frame is
 * corrupt, belongs to another key, or has the wrong shape. Delta contents are
 * checked later, when merged (`readDelta`). Never throws.
 */
export function decodeBatch(
  seq: number,
  bytes: Uint8Array | undefined,
): { ops: LogOp[] } | { reason: string } {
  const d = readBatch(seq, bytes)
  if ('reason' in d) return d
  return { ops: d.ops.map(expand) }
}

function expand(op: ReadOp): LogOp {
  if (op.kind !== 'one') return op
  const { name, r, p, n, s } = op
  const delta = { ranges: [[r, s - 1, s]], entries: [[name, r, p, n, s]] } as unknown as Delta
  return op.idem ? { kind: 'local', delta, idem: op.idem } : { kind: 'local', delta }
}

/**
 * {@link decodeBatch} for recovery: the same checks and reasons, but a
 * compact single-operation row comes back as a {@link OneOp} (no delta
 * object built: recovery may read a million of them). Never throws.
 */
export function readBatch(
  seq: number,
  bytes: Uint8Array | undefined,
): { ops: ReadOp[] } | { reason: string } {
  const d = decodeFrame(bytes)
  if (!d.ok) return { reason: d.reason }
  const v = d.value
  if (!isObj(v) || v.s !== seq || !Array.isArray(v.o)) return { reason: 'not a WAL batch for this key' }
  const ops: ReadOp[] = []
  for (const row of v.o) {
    if (!Array.isArray(row)) return { reason: 'malformed operation row' }
    if (row[0] === 2) {
      const s: unknown = row[5]
      if (typeof s !== 'number') return { reason: 'malformed operation row' }
      // Shapes are checked when folded (names, ids, counts).
      const idem = readIdem(row[6])
      const one: OneOp = { kind: 'one', name: row[1], r: row[2], p: row[3], n: row[4], s }
      if (idem) one.idem = idem
      ops.push(one)
      continue
    }
    if (row[0] === KEY_ROW) {
      const keyed = readKeyRow(row)
      if (!keyed) return { reason: 'malformed keyed-write row' }
      ops.push(keyed)
      continue
    }
    if (row[0] === 3) {
      const marks = readMarksRecord(row[1])
      if (!marks) return { reason: 'malformed reset-mark row' }
      ops.push({ kind: 'marks', marks, local: row[2] === 1 })
      continue
    }
    if (!isObj(row[1])) return { reason: 'malformed operation row' }
    const delta = row[1] as unknown as Delta
    if (row[0] === 1) {
      const records = Array.isArray(row[2]) ? readIdems(row[2]) : []
      ops.push(records.length > 0 ? { kind: 'remote', delta, records } : { kind: 'remote', delta })
    } else if (row[0] === 0) {
      const idem = readIdem(row[2])
      ops.push(idem ? { kind: 'local', delta, idem } : { kind: 'local', delta })
    } else return { reason: 'unknown operation kind' }
  }
  return { ops }
}

/**
 * An idempotency record read back from disk, or undefined when absent/malformed.
 * Records written before keys were replicated have no replica/seq/attempt;
 * those fields are kept only when well-formed (replica and seq together).
 */
export function readIdem(x: unknown): IdempotencyRecord | undefined {
  if (!isObj(x)) return undefined
  const { key, name, op, amount, value, at, replica, seq, attempt, compensated } = x
  if (typeof key !== 'string' || typeof name !== 'string') return undefined
  if (op !== 'increment' && op !== 'decrement') return undefined
  if (typeof amount !== 'number' || typeof value !== 'number' || typeof at !== 'number') return undefined
  const r: IdempotencyRecord = { key, name, op, amount, value, at }
  if (typeof replica === 'string' && typeof seq === 'number') {
    r.replica = replica
    r.seq = seq
    r.attempt = typeof attempt === 'number' ? attempt : 1
    if (compensated === true) r.compensated = true
  }
  return r
}

function readIdems(xs: unknown[]): IdempotencyRecord[] {
  const out: IdempotencyRecord[] = []
  for (const x of xs) {
    const r = readIdem(x)
    if (r) out.push(r)
  }
  return out
}

/** Decodes the snapshot value, or a reason. Never throws. */
export function decodeSnapshot(
  bytes: Uint8Array | undefined,
): { snapshot: SnapshotRecord } | { reason: string } {
  const d = decodeFrame(bytes)
  if (!d.ok) return { reason: d.reason }
  const v = d.value
  if (!isObj(v) || typeof v.covered !== 'number' || !isObj(v.state) || !Array.isArray(v.idempotency)) {
    return { reason: 'not a snapshot' }
  }
  const idempotency: IdempotencyRecord[] = []
  for (const r of v.idempotency) {
    const rec = readIdem(r)
    if (rec) idempotency.push(rec)
  }
  return {
    snapshot: {
      covered: v.covered,
      at: typeof v.at === 'number' ? v.at : 0,
      state: v.state as unknown as CounterMapState,
      idempotency,
    },
  }
}

/** Decodes the stored identity, or a reason. Never throws. */
export function decodeIdentity(
  bytes: Uint8Array | undefined,
): { identity: StoredIdentity } | { reason: string } {
  const d = decodeFrame(bytes)
  if (!d.ok) return { reason: d.reason }
  const v = d.value
  if (!isObj(v) || typeof v.nodeId !== 'string' || !Number.isSafeInteger(v.incarnation)) {
    return { reason: 'not an identity record' }
  }
  return {
    identity: {
      nodeId: v.nodeId,
      incarnation: v.incarnation as number,
      createdAt: typeof v.createdAt === 'number' ? v.createdAt : 0,
    },
  }
}

/** Decodes the running marker; a damaged marker reads as "unknown process", which is treated as unclean. */
export function decodeMarker(bytes: Uint8Array | undefined): RunningMarker | null {
  if (!bytes) return null
  const d = decodeFrame(bytes)
  const v = d.ok ? d.value : null
  if (!isObj(v)) return { pid: 0, bootId: null, durability: 'async', at: 0 }
  return {
    pid: typeof v.pid === 'number' ? v.pid : 0,
    bootId: typeof v.bootId === 'string' ? v.bootId : null,
    durability: v.durability === 'sync' ? 'sync' : 'async',
    at: typeof v.at === 'number' ? v.at : 0,
  }
}
