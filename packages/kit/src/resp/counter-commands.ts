// The Redis counter dialect Tally speaks: INCR/INCRBY/DECR/DECRBY, GET/MGET,
// EXISTS/TYPE, SCAN/KEYS/DBSIZE, the TALLY.INCRBY/TALLY.DECRBY extensions,
// DEL/UNLINK/EXPIRE/PEXPIRE/TTL/PTTL/PERSIST (lifecycle-commands.ts), and
// the refusals (SET, RENAME, EXPIREAT…) that name what to use instead. Argument rules and reply shapes live here; what a write or a read
// does is the server's {@link CounterBackend} (a node applies it, the
// gateway forwards it with failover).

import { type Consistency, isConsistency, isIdempotencyKey } from '../rules.js'
import { globMatch, parseInteger } from './args.js'
import type { CommandSpec, Handler } from './command-table.js'
import { RedisErrors } from './errors.js'
import { lifecycleCommands } from './lifecycle-commands.js'
import { Pending } from './pending.js'
import { array, bulk, error, int, NIL, type Reply, simple } from './reply.js'

/** One counter write as the backend receives it. `amount` is a positive safe integer. */
export interface CounterWrite {
  readonly name: string
  readonly op: 'increment' | 'decrement'
  readonly amount: number
  /** Idempotency key (TALLY.INCRBY … KEY k); the gateway generates one when absent. */
  readonly key?: string | undefined
  /** Which try this is (TALLY.INCRBY … ATTEMPT n), 1–100. */
  readonly attempt?: number | undefined
  readonly consistency?: Consistency | undefined
}

/** Options of a TALLY.DEL: the request's idempotency key and consistency level. */
export interface DeleteOptions {
  readonly key?: string | undefined
  readonly consistency?: Consistency | undefined
}

/**
 * What the counter commands need from a server. Methods may throw or reject
 * with errors carrying a stable `TALLY_…` code (rendered by the listener).
 */
export interface CounterBackend {
  /**
   * Applies `w`; resolves with the counter's new value once the write is
   * durable. A {@link Pending} result (plain writes of a node) settles
   * without a promise.
   */
  mutate(w: CounterWrite): Promise<number> | Pending<number>
  /** The value of `name`, or undefined for a counter never written (or a name that can never be one). */
  get(name: string): number | undefined | Promise<number | undefined>
  /** Values of several counters, in order (undefined as for {@link get}). */
  getMany(
    names: readonly string[],
  ): ReadonlyArray<number | undefined> | Promise<ReadonlyArray<number | undefined>>
  /** Every counter name, sorted. */
  names(): readonly string[] | Promise<readonly string[]>
  /** Throws TALLY_NAME_INVALID unless `name` follows the counter naming rules. */
  assertName(name: string): void
  /**
   * Deletes `name` (observed reset); resolves once durable (and, at
   * quorum/all, once that many replicas hold it), with whether it existed.
   * `opts` (TALLY.DEL): an idempotency key and a consistency level; the
   * server's default level without one.
   */
  delete(name: string, opts?: DeleteOptions): Promise<boolean>
  /** Sets `name` to expire in `ttlMs` (1 … MAX_TTL_MS); resolves once durable, false when it does not exist. */
  expire(name: string, ttlMs: number): Promise<boolean>
  /** Removes `name`'s TTL; resolves once durable, with whether one was removed. */
  persist(name: string): Promise<boolean>
  /** Remaining ms of `name`'s TTL: undefined when no such counter, null when it has no TTL. */
  ttl(name: string): number | null | undefined | Promise<number | null | undefined>
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)
const MAX_ATTEMPT = 100

/** A `-TALLY <code> <message>` reply for Tally's own argument errors. */
const tally = (code: string, message: string): Reply => error(`TALLY ${code} ${message}`)

const valueReply = (v: number | undefined): Reply => (v === undefined ? NIL : bulk(String(v)))

const intOrZero = (v: number | undefined): Reply => int(v ?? 0)

/**
 * Runs a signed Redis increment: positive adds, negative subtracts, zero
 * reads (writing nothing). Beyond ±(2^53−1) it is an overflow (no Tally
 * counter can take it). Not async: the write path is every INCR's, so it
 * adds one `then` to the backend's promise and nothing more. May throw
 * (TALLY_NAME_INVALID for a zero increment), as handlers may.
 */
function signedAdd(b: CounterBackend, name: string, delta: bigint): Reply | Promise<Reply> | Pending<Reply> {
  if (delta === 0n) {
    b.assertName(name)
    const v = b.get(name)
    return v instanceof Promise ? v.then(intOrZero) : intOrZero(v)
  }
  const abs = delta < 0n ? -delta : delta
  if (abs > MAX_SAFE) return error(RedisErrors.overflow)
  return add(b, name, delta > 0n ? 'increment' : 'decrement', Number(abs))
}

/** INCR / DECR and the tail of signedAdd: the backend's write, its value as an integer reply. */
function add(
  b: CounterBackend,
  name: string,
  op: 'increment' | 'decrement',
  amount: number,
): Promise<Reply> | Pending<Reply> {
  const r = b.mutate({ name, op, amount })
  return r instanceof Pending ? r.map(int) : r.then(int)
}

/** TALLY.INCRBY / TALLY.DECRBY key amount [KEY k] [ATTEMPT n] [CONSISTENCY one|quorum|all]. */
function tallyAdd(b: CounterBackend, op: 'increment' | 'decrement'): Handler {
  return async (args) => {
    const name = args[1] as string
    const n = parseInteger(args[2] as string)
    if (n === undefined || n <= 0n) return error(RedisErrors.notInteger)
    if (n > MAX_SAFE) return error(RedisErrors.overflow)
    let key: string | undefined
    let attempt: number | undefined
    let consistency: Consistency | undefined
    for (let i = 3; i < args.length; i += 2) {
      const opt = (args[i] as string).toLowerCase()
      const v = args[i + 1]
      if (v === undefined) return error(RedisErrors.syntax)
      if (opt === 'key') {
        if (!isIdempotencyKey(v))
          return tally('TALLY_IDEMPOTENCY_KEY_INVALID', 'KEY must be 1-128 printable ASCII characters')
        key = v
      } else if (opt === 'attempt') {
        const a = parseInteger(v)
        if (a === undefined || a < 1n || a > BigInt(MAX_ATTEMPT))
          return tally('TALLY_ATTEMPT_INVALID', `ATTEMPT must be an integer from 1 to ${MAX_ATTEMPT}`)
        attempt = Number(a)
      } else if (opt === 'consistency') {
        const c = v.toLowerCase()
        if (!isConsistency(c)) return tally('TALLY_CONSISTENCY_INVALID', 'CONSISTENCY must be one|quorum|all')
        consistency = c
      } else return error(RedisErrors.syntax)
    }
    return int(await b.mutate({ name, op, amount: Number(n), key, attempt, consistency }))
  }
}

/** SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]: the cursor is a position in the sorted names. */
async function scan(b: CounterBackend, args: readonly string[]): Promise<Reply> {
  const cur = parseInteger(args[1] as string)
  if (cur === undefined || cur < 0n) return error('ERR invalid cursor')
  let match: string | undefined
  let count = 10
  let type: string | undefined
  for (let i = 2; i < args.length; i += 2) {
    const opt = (args[i] as string).toLowerCase()
    const v = args[i + 1]
    if (v === undefined) return error(RedisErrors.syntax)
    if (opt === 'match') match = v
    else if (opt === 'count') {
      const c = parseInteger(v)
      if (c === undefined) return error(RedisErrors.notInteger)
      if (c < 1n) return error(RedisErrors.syntax)
      count = Number(c > 100_000n ? 100_000n : c)
    } else if (opt === 'type') type = v.toLowerCase()
    else return error(RedisErrors.syntax)
  }
  // New names shift later ones right and deleted ones shift them left, so a
  // full iteration returns every counter present throughout at least once
  // only while none is deleted (a delete can make one be skipped).
  const names = await b.names()
  const from = cur > BigInt(names.length) ? names.length : Number(cur)
  const page = names.slice(from, from + count)
  const next = from + count >= names.length ? 0 : from + count
  const keep = page.filter(
    (n) => (match === undefined || globMatch(match, n)) && (type ?? 'string') === 'string',
  )
  return array([bulk(String(next)), array(keep.map(bulk))])
}

const REFUSED: ReadonlyArray<readonly [string[], string]> = [
  [
    ['set', 'setnx', 'setex', 'psetex', 'getset', 'mset', 'msetnx', 'setrange', 'append', 'incrbyfloat'],
    'counters change only by whole increments and decrements: use INCRBY key n / DECRBY key n',
  ],
  [
    ['getdel', 'rename', 'renamenx', 'move', 'copy', 'flushdb', 'flushall'],
    'counters cannot be renamed, moved or flushed: DEL deletes one counter at a time',
  ],
  [
    ['expireat', 'pexpireat', 'getex'],
    'counters take relative TTLs only: use EXPIRE key seconds or PEXPIRE key ms',
  ],
  [
    ['multi', 'exec', 'discard', 'watch', 'unwatch'],
    'transactions are not supported: each write is atomic on its own; use TALLY.INCRBY key n KEY <id> for exactly-once retries',
  ],
]

const s = (
  name: string,
  arity: number,
  flags: string[],
  keys: readonly [number, number, number],
  group: string,
  summary: string,
  handler: Handler,
): CommandSpec => ({ name, arity, flags, keys, group, summary, handler })

/** The counter commands over `b`, ready for a {@link RespListener}. */
export function counterCommands(b: CounterBackend): CommandSpec[] {
  const one = [1, 1, 1] as const
  const w = ['write', 'denyoom', 'fast']
  const r = ['readonly', 'fast']
  const out: CommandSpec[] = [
    s('incr', 2, w, one, 'string', 'Adds 1 to a counter; replies the new value.', (a) =>
      add(b, a[1] as string, 'increment', 1),
    ),
    s('decr', 2, w, one, 'string', 'Subtracts 1 from a counter; replies the new value.', (a) =>
      add(b, a[1] as string, 'decrement', 1),
    ),
    s('incrby', 3, w, one, 'string', 'Adds an integer (negative subtracts) to a counter.', (a) => {
      const n = parseInteger(a[2] as string)
      return n === undefined ? error(RedisErrors.notInteger) : signedAdd(b, a[1] as string, n)
    }),
    s('decrby', 3, w, one, 'string', 'Subtracts an integer (negative adds) from a counter.', (a) => {
      const n = parseInteger(a[2] as string)
      return n === undefined ? error(RedisErrors.notInteger) : signedAdd(b, a[1] as string, -n)
    }),
    s(
      'tally.incrby',
      -3,
      w,
      one,
      'tally',
      'TALLY.INCRBY key amount [KEY idempotency-key] [ATTEMPT n] [CONSISTENCY one|quorum|all]',
      tallyAdd(b, 'increment'),
    ),
    s(
      'tally.decrby',
      -3,
      w,
      one,
      'tally',
      'TALLY.DECRBY key amount [KEY idempotency-key] [ATTEMPT n] [CONSISTENCY one|quorum|all]',
      tallyAdd(b, 'decrement'),
    ),
    s('get', 2, r, one, 'string', "A counter's value as a string; nil for one never written.", (a) => {
      const v = b.get(a[1] as string)
      return v instanceof Promise ? v.then(valueReply) : valueReply(v)
    }),
    s('mget', -2, r, [1, -1, 1], 'string', 'Values of several counters.', async (a) =>
      array((await b.getMany(a.slice(1))).map(valueReply)),
    ),
    s('exists', -2, r, [1, -1, 1], 'generic', 'How many of the given counters exist.', async (a) => {
      const vs = await b.getMany(a.slice(1))
      return int(vs.filter((v) => v !== undefined).length)
    }),
    s('type', 2, r, one, 'generic', '"string" for a counter, "none" otherwise.', async (a) =>
      simple((await b.get(a[1] as string)) === undefined ? 'none' : 'string'),
    ),
    s('dbsize', 1, r, [0, 0, 0], 'server', 'Number of counters.', async () => int((await b.names()).length)),
    s('keys', 2, ['readonly'], [0, 0, 0], 'generic', 'Counter names matching a glob pattern.', async (a) => {
      const p = a[1] as string
      return array((await b.names()).filter((n) => globMatch(p, n)).map(bulk))
    }),
    s('scan', -2, ['readonly'], [0, 0, 0], 'generic', 'Iterates over counter names.', (a) => scan(b, a)),
    ...lifecycleCommands(b),
  ]
  for (const [names, why] of REFUSED) {
    for (const name of names) {
      out.push(
        s(name, -1, ['write'], [0, 0, 0], 'unsupported', `Not supported: ${why}`, () =>
          error(`ERR '${name}' is not supported by Tally: ${why}`),
        ),
      )
    }
  }
  return out
}
