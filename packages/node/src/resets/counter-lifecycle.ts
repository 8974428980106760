// Deletes and TTLs of a node's counters: the reset marks and TTL registers
// (counter-marks.ts) beside the CounterMap, how they are written (durable,
// then sent to peers), how an expiry is applied when this node's clock
// passes it, reads under the marks, and the answers to keyed deletes/TTL
// changes. Semantics: docs/crdt.md ("ResettableCounter", "TTL"); the node
// wiring: packages/node/README.md ("Delete and expiry").

import {
  type CounterMap,
  ErrorCodes,
  expired,
  expiryDue,
  makeTtl,
  type PNCounterState,
  TallyError,
  type Ttl,
} from '@tally/crdt'
import { isTtlMs, MAX_TTL_MS } from '@tally/kit'
import type { Logger } from 'pino'
import { NodeError, NodeErrorCodes } from '../errors.js'
import type { WriteFence } from '../storage/write-fence.js'
import { CounterMarks } from './counter-marks.js'
import { ExpiryQueue } from './expiry-queue.js'
import { HybridClock } from './hybrid-clock.js'
import { type MarkTuple, ttlOf, ttlTuple } from './mark-tuple.js'
import type { MarksRecord, ResetKeyRecord, ResetOp } from './marks-record.js'
import { UnwrittenMarks } from './unwritten-marks.js'

/** Options of {@link CounterLifecycle}. Durations in ms. */
export interface CounterLifecycleOptions {
  map: CounterMap
  fence: WriteFence
  logger: Logger
  /** Wall clock, ms since the epoch (injectable for skew tests). */
  now: () => number
  /** How long answers to keyed deletes/TTL changes are kept. */
  keyTtlMs: number
  /** Sends a changed tuple to peers once it is durable (eager; anti-entropy repairs the rest). */
  send: (tuples: MarkTuple[]) => void
  /** Logs marks merged from a peer (not fsynced on their own, like remote deltas). */
  appendRemote: (record: MarksRecord) => Promise<void>
}

/** Answer of a delete. `deleted`: the counter existed here (had something beyond its mark). */
export interface DeleteAnswer {
  name: string
  deleted: boolean
  value: 0
}

/** Answer of a TTL change: `ttlMs` now set (null: none); `changed`: whether one was set or removed. */
export interface TtlAnswer {
  name: string
  ttlMs: number | null
  changed: boolean
}

/**
 * Deletes, TTLs and expiries of one node's counters. Every method that
 * writes resolves once the change is durable; they reject with NodeError
 * (TALLY_STORE_FAILED, TALLY_IDEMPOTENCY_MISMATCH, TALLY_COUNTER_NOT_FOUND,
 * TALLY_TTL_INVALID) and change nothing then, except TALLY_STORE_FAILED
 * after the change was applied in memory (the node is fenced then).
 */
export class CounterLifecycle {
  readonly marks = new CounterMarks()
  readonly clock: HybridClock
  readonly #o: CounterLifecycleOptions
  readonly #queue = new ExpiryQueue()
  readonly #keys = new Map<string, ResetKeyRecord>()
  readonly #inflight = new Map<string, Promise<unknown>>()
  // Counters with a local mark change still being written: not sent with deltas yet.
  readonly #unwritten = new UnwrittenMarks()
  #timer: NodeJS.Timeout | undefined
  #timerAt = Number.POSITIVE_INFINITY
  #running = false
  #remote: Promise<void> = Promise.resolve()
  #remoteFailed = false
  /** Expiries applied by this node since start. */
  expiries = 0
  /**
   * This replica's floor: the largest own total of any counter it garbage-
   * collected (counter-gc.ts; docs/crdt.md). Durable, never lowered.
   */
  floor = 0

  constructor(o: CounterLifecycleOptions) {
    this.#o = o
    this.clock = new HybridClock(o.now)
  }

  /** Loads what the store recovered (marks, TTLs, applied versions, keyed answers). */
  load(rec: MarksRecord | undefined): void {
    if (!rec) return
    this.floor = Math.max(this.floor, rec.floor ?? 0)
    this.marks.merge(rec.tuples)
    for (const [name, t] of rec.applied) this.marks.setApplied(name, ttlOf(t))
    const cutoff = this.#o.now() - this.#o.keyTtlMs
    for (const k of rec.keys) if (k.at > cutoff) this.#keys.set(k.key, k)
    for (const name of this.marks.names()) this.#enqueue(name)
  }

  /** Starts applying expiries on time (a timer at the next one). */
  start(): void {
    this.#running = true
    this.#arm()
  }

  /** Stops the expiry timer. */
  stop(): void {
    this.#running = false
    clearTimeout(this.#timer)
    this.#timerAt = Number.POSITIVE_INFINITY
  }

  /**
   * Value of `name` under its mark, after applying a due expiry. Throws
   * TALLY_VALUE_UNSAFE (TallyError) when it is not a safe integer.
   */
  value(name: string): number {
    if (!this.marks.has(name)) return this.#o.map.value(name)
    this.applyDue(name)
    const { value } = this.marks.value(name, this.#o.map.counterState(name))
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new TallyError(
        ErrorCodes.VALUE_UNSAFE,
        `the value of counter ${name} is ${value}, not a safe integer`,
      )
    }
    return Number(value)
  }

  /** True when `name` exists here: written, and something lies beyond its last delete/expiry. */
  exists(name: string): boolean {
    if (!this.#o.map.has(name)) return false
    if (!this.marks.has(name)) return true
    this.applyDue(name)
    return !this.marks.value(name, this.#o.map.counterState(name)).empty
  }

  /** Names of the counters that exist here (see {@link exists}), sorted. */
  names(): string[] {
    const all = this.#o.map.names()
    if (this.marks.size === 0) return all
    return all.filter((n) => !this.marks.has(n) || this.exists(n))
  }

  /** Remaining ms of `name`'s TTL, or undefined when it has none (or does not exist). */
  ttlMs(name: string): number | undefined {
    const t = this.marks.ttl(name)
    if (!t || t.at === null || !this.exists(name)) return undefined
    const left = t.at - this.#o.now()
    return left > 0 ? left : undefined
  }

  /**
   * Deletes what this node has observed of `name` (observed reset): it reads
   * 0 and leaves listings until written again. Resolves once durable.
   */
  delete(name: string, key?: string): Promise<DeleteAnswer> {
    return this.#write<DeleteAnswer>(key, name, 'delete', 0, () => {
      const existed = this.exists(name)
      const tuple = this.marks.has(name) || this.#o.map.has(name) ? this.#reset(name) : null
      return [{ name, deleted: existed, value: 0 as const }, tuple]
    })
  }

  /**
   * Sets `name` to expire `ttlMs` from now (a new TTL version stamped by the
   * hybrid clock). Throws TALLY_TTL_INVALID for a ttl outside 1…{@link MAX_TTL_MS}
   * and TALLY_COUNTER_NOT_FOUND when the counter does not exist here.
   */
  expire(name: string, ttlMs: number, key?: string): Promise<TtlAnswer> {
    if (!isTtlMs(ttlMs)) {
      throw new NodeError(
        NodeErrorCodes.TTL_INVALID,
        `ttlMs must be a whole number of milliseconds from 1 to ${MAX_TTL_MS}, got ${String(ttlMs)}`,
      )
    }
    return this.#write<TtlAnswer>(key, name, 'expire', ttlMs, () => {
      if (!this.exists(name)) throw notFound(name)
      const ttl = makeTtl(this.#o.now() + ttlMs, this.#o.map.replica, this.clock.stamp())
      const tuple = this.marks.setTtl(name, ttl)
      this.#enqueue(name)
      return [{ name, ttlMs, changed: true }, tuple]
    })
  }

  /** Removes `name`'s TTL (PERSIST: a new version with no expiry). `changed` false when it had none. */
  persist(name: string, key?: string): Promise<TtlAnswer> {
    return this.#write<TtlAnswer>(key, name, 'persist', 0, () => {
      if (this.ttlMs(name) === undefined) return [{ name, ttlMs: null, changed: false }, null]
      const tuple = this.marks.setTtl(name, makeTtl(null, this.#o.map.replica, this.clock.stamp()))
      return [{ name, ttlMs: null, changed: true }, tuple]
    })
  }

  /**
   * Applies `name`'s expiry if this node's clock has passed it and this TTL
   * version was not applied yet: an observed reset, logged (not awaited:
   * every later write of this node is logged after it) and sent to peers.
   * Returns true if it applied one. Never throws.
   */
  applyDue(name: string): boolean {
    const ttl = this.marks.ttl(name)
    if (!expiryDue(ttl, this.marks.applied(name), this.#o.now())) return false
    const t = ttl as Ttl
    const tuple = this.#reset(name)
    this.marks.setApplied(name, t)
    this.expiries++
    const rec: MarksRecord = { tuples: tuple ? [tuple] : [], applied: [[name, ttlTuple(t)]], keys: [] }
    this.#appendLocal(rec).then(
      () => {
        if (tuple) this.#o.send([tuple])
      },
      () => {}, // the fence has logged it and stops the node
    )
    return true
  }

  /**
   * Merges tuples from a peer (already checked): the stamps move the hybrid
   * clock, changed counters are logged and their expiries queued. Returns the
   * names that changed.
   */
  mergeRemote(tuples: readonly MarkTuple[]): string[] {
    // An expiry due here is applied first, so the peer's later state is not swept into it.
    for (const [name, , , t] of tuples) {
      if (t !== 0) this.clock.observe(t[2])
      if (this.marks.has(name)) this.applyDue(name)
    }
    const changed = this.marks.merge(tuples)
    if (changed.length === 0) return changed
    for (const name of changed) this.#enqueue(name)
    this.#appendRemote({ tuples: changed.map((n) => this.marks.tuple(n)), applied: [], keys: [] })
    this.#arm()
    return changed
  }

  /** The kept answer to keyed delete/TTL change `key`, or undefined (none, or past retention). */
  answerFor(key: string): ResetKeyRecord | undefined {
    const k = this.#keys.get(key)
    return k !== undefined && k.at > this.#o.now() - this.#o.keyTtlMs ? k : undefined
  }

  /**
   * Merges marks and keyed answers a peer sent (already checked) as
   * {@link mergeRemote}; an answer already known here keeps the first.
   * Resolves once everything merged from peers so far is written; rejects
   * with TALLY_STORE_FAILED (NodeError) once such a write has failed.
   */
  learn(tuples: readonly MarkTuple[], keys: readonly ResetKeyRecord[]): Promise<void> {
    if (tuples.length > 0) this.mergeRemote(tuples)
    const cutoff = this.#o.now() - this.#o.keyTtlMs
    const fresh = keys.filter((k) => k.at > cutoff && !this.#keys.has(k.key))
    for (const k of fresh) this.#keys.set(k.key, k)
    if (fresh.length > 0) this.#appendRemote({ tuples: [], applied: [], keys: fresh })
    return this.#remote.then(() => {
      if (this.#remoteFailed)
        throw new NodeError(NodeErrorCodes.STORE_FAILED, 'reset marks from a peer could not be written')
    })
  }

  // Logs what peers sent (not fsynced on its own, like remote deltas); #remote settles after all of it.
  #appendRemote(rec: MarksRecord): void {
    const p = this.#o.appendRemote(rec).catch((err: unknown) => {
      this.#remoteFailed = true
      this.#o.logger.error({ err }, 'persisting reset marks from a peer failed')
    })
    this.#remote = Promise.all([this.#remote, p]).then(() => {})
  }

  /**
   * True when `name` has a mark here but none of its totals, and no TTL
   * still to apply: the mark of a counter collected elsewhere that came back
   * from a peer still holding it (or a delete whose totals have not arrived).
   * Such a mark is not passed on in whole sets: nodes that collected the
   * counter would otherwise hand it back and forth for ever. Its owner (the
   * node that deleted) and the holders of the totals still send it.
   */
  isBareMark(name: string): boolean {
    if (this.#o.map.has(name) || !this.marks.has(name)) return false
    const t = this.marks.ttl(name)
    return t === undefined || t.at === null || sameApplied(this.marks.applied(name), t)
  }

  /** Everything to keep in a snapshot: marks, TTLs, applied versions, live keyed answers. */
  record(): MarksRecord {
    const cutoff = this.#o.now() - this.#o.keyTtlMs
    return {
      tuples: this.marks.tuples(),
      applied: this.marks.appliedAll().map(([n, t]) => [n, ttlTuple(t)]),
      keys: [...this.#keys.values()].filter((k) => k.at > cutoff),
      ...(this.floor > 0 ? { floor: this.floor } : {}),
    }
  }

  /**
   * Logs a local change made in memory (not awaited: every later write of
   * this node is logged after it) and sends `tuples` to peers once durable.
   * A failed append has closed the fence; nothing is sent then. Never throws.
   */
  logAndSend(rec: MarksRecord, tuples: MarkTuple[]): void {
    this.#appendLocal(rec).then(
      () => {
        if (tuples.length > 0) this.#o.send(tuples)
      },
      () => {}, // the fence has logged it and stops the node
    )
  }

  /**
   * True when every local change of `name`'s mark is durable (none being
   * written): only then may its mark ride with a delta (delta-marks.ts), so a
   * crash never leaves a peer holding a mark this node lost. O(1).
   */
  markWritten(name: string): boolean {
    return !this.#unwritten.has(name)
  }

  // Appends a local change through the fence; its counters count as unwritten until it is durable
  // (for good if it fails: the fence then stops the node, and nothing more is sent).
  #appendLocal(rec: MarksRecord): Promise<void> {
    const names = rec.tuples.map((t) => t[0])
    this.#unwritten.add(names)
    const p = this.#o.fence.appendMarks(rec)
    if (names.length > 0)
      p.then(
        () => this.#unwritten.written(names),
        () => {},
      )
    return p
  }

  #reset(name: string): MarkTuple | null {
    const totals: PNCounterState = this.#o.map.counterState(name)
    return this.marks.reset(name, totals)
  }

  /**
   * One local change: `apply` changes memory (synchronously) and returns the
   * answer and the tuple to log (null: nothing changed). The tuple and, with
   * a key, the answer are logged in one record, durable before the answer is
   * given, then the tuple goes to peers. A repeat of a key gets the first
   * answer; a different request under it is refused.
   */
  async #write<T extends object>(
    key: string | undefined,
    name: string,
    op: ResetOp,
    ttlMs: number,
    apply: () => [T, MarkTuple | null],
  ): Promise<T> {
    if (key !== undefined) {
      const known = this.#keys.get(key)
      if (known) {
        if (known.name !== name || known.op !== op || known.ttlMs !== ttlMs) throw mismatch(key, known)
        return known.answer as T
      }
      const running = this.#inflight.get(key)
      if (running) {
        await running.catch(() => {})
        return this.#write(key, name, op, ttlMs, apply)
      }
    }
    const [answer, tuple] = apply()
    const rec: MarksRecord = { tuples: tuple ? [tuple] : [], applied: [], keys: [] }
    let kept: ResetKeyRecord | undefined
    if (key !== undefined) {
      kept = { key, name, op, ttlMs, answer: { ...(answer as Record<string, unknown>) }, at: this.#o.now() }
      rec.keys.push(kept)
    }
    if (rec.tuples.length === 0 && rec.keys.length === 0) return answer
    const p = this.#appendLocal(rec)
    if (key !== undefined) this.#inflight.set(key, p)
    try {
      await p
    } finally {
      if (key !== undefined) this.#inflight.delete(key)
    }
    if (kept) this.#keys.set(kept.key, kept)
    if (tuple) this.#o.send([tuple])
    this.#arm()
    return answer
  }

  #enqueue(name: string): void {
    const t = this.marks.ttl(name)
    if (t && t.at !== null && !sameApplied(this.marks.applied(name), t)) this.#queue.push(t.at, name)
  }

  // Keeps one timer, at the earliest queued expiry.
  #arm(): void {
    if (!this.#running) return
    const next = this.#queue.peek()
    if (next === undefined || next >= this.#timerAt) return
    clearTimeout(this.#timer)
    this.#timerAt = next
    const delay = Math.max(0, Math.min(next - this.#o.now(), 2 ** 31 - 1))
    this.#timer = setTimeout(() => this.#sweep(), delay)
    this.#timer.unref()
  }

  #sweep(): void {
    this.#timerAt = Number.POSITIVE_INFINITY
    const now = this.#o.now()
    for (const name of this.#queue.popDue(now)) {
      const t = this.marks.ttl(name)
      if (t && t.at !== null && !expired(t, now))
        this.#queue.push(t.at, name) // clock stepped back
      else this.applyDue(name)
    }
    const cutoff = now - this.#o.keyTtlMs
    for (const [k, r] of this.#keys) if (r.at <= cutoff) this.#keys.delete(k)
    this.#arm()
  }
}

function sameApplied(a: Ttl | undefined, t: Ttl): boolean {
  return a !== undefined && a.at === t.at && a.setBy === t.setBy && a.stamp === t.stamp
}

function notFound(name: string): NodeError {
  return new NodeError(
    NodeErrorCodes.COUNTER_NOT_FOUND,
    `counter ${name} does not exist here (never written, deleted or expired): write it first`,
  )
}

function mismatch(key: string, known: ResetKeyRecord): NodeError {
  return new NodeError(
    NodeErrorCodes.IDEMPOTENCY_MISMATCH,
    `Idempotency-Key ${JSON.stringify(key)} was first used for ${known.op} of counter ${known.name}`,
  )
}
