// DEL/UNLINK, EXPIRE/PEXPIRE, TTL/PTTL and PERSIST over Tally's delete and
// TTL semantics, with Redis' replies: DEL counts the keys it removed, EXPIRE
// and PERSIST answer 1/0, TTL and PTTL −2 (no such key), −1 (no expiry) or
// the time left. What a delete or TTL change does is the server's
// {@link CounterBackend} (docs/crdt.md: an observed reset; last writer wins).

import { type Consistency, isConsistency, isIdempotencyKey, MAX_TTL_MS } from '../rules.js'
import { parseInteger } from './args.js'
import type { CommandSpec } from './command-table.js'
import type { CounterBackend, DeleteOptions } from './counter-commands.js'
import { RedisErrors } from './errors.js'
import { error, int, type Reply } from './reply.js'

const invalidExpire = (cmd: string): Reply => error(`ERR invalid expire time in '${cmd}' command`)

/**
 * EXPIRE / PEXPIRE key n: `unitMs` 1000 or 1. A non-positive time deletes
 * the key (as Redis does; 1 if it existed). Options (NX XX GT LT) are
 * refused with a syntax error rather than ignored.
 */
async function expire(b: CounterBackend, args: readonly string[], unitMs: number): Promise<Reply> {
  const cmd = (args[0] as string).toLowerCase()
  const name = args[1] as string
  if (args.length > 3)
    return error(`${RedisErrors.syntax}: ${cmd.toUpperCase()} options NX XX GT LT are not supported`)
  const n = parseInteger(args[2] as string)
  if (n === undefined) return error(RedisErrors.notInteger)
  b.assertName(name)
  if (n <= 0n) return int((await b.delete(name)) ? 1 : 0)
  const ms = n * BigInt(unitMs)
  if (ms > BigInt(MAX_TTL_MS)) return invalidExpire(cmd)
  return int((await b.expire(name, Number(ms))) ? 1 : 0)
}

/** TTL / PTTL key: −2 no such counter, −1 no expiry, else the time left (TTL: seconds rounded, as Redis). */
async function ttl(b: CounterBackend, name: string, unitMs: number): Promise<Reply> {
  const left = await b.ttl(name)
  if (left === undefined) return int(-2)
  if (left === null) return int(-1)
  return int(unitMs === 1 ? left : Math.floor((left + 500) / 1000))
}

/**
 * TALLY.DEL key [KEY idempotency-key] [CONSISTENCY one|quorum|all]: one
 * counter's delete with TALLY.INCRBY's options; `1` if it existed, else `0`.
 */
async function tallyDel(b: CounterBackend, args: readonly string[]): Promise<Reply> {
  const name = args[1] as string
  let key: string | undefined
  let consistency: Consistency | undefined
  for (let i = 2; i < args.length; i += 2) {
    const opt = (args[i] as string).toLowerCase()
    const v = args[i + 1]
    if (v === undefined) return error(RedisErrors.syntax)
    if (opt === 'key') {
      if (!isIdempotencyKey(v))
        return error('TALLY TALLY_IDEMPOTENCY_KEY_INVALID KEY must be 1-128 printable ASCII characters')
      key = v
    } else if (opt === 'consistency') {
      const c = v.toLowerCase()
      if (!isConsistency(c))
        return error('TALLY TALLY_CONSISTENCY_INVALID CONSISTENCY must be one|quorum|all')
      consistency = c
    } else return error(RedisErrors.syntax)
  }
  b.assertName(name)
  const opts: DeleteOptions = { key, consistency }
  return int((await b.delete(name, opts)) ? 1 : 0)
}

/** The delete and TTL commands over `b` (part of {@link counterCommands}). */
export function lifecycleCommands(b: CounterBackend): CommandSpec[] {
  const one = [1, 1, 1] as const
  const all = [1, -1, 1] as const
  const w = ['write', 'fast']
  const r = ['readonly', 'fast']
  const del = async (a: readonly string[]): Promise<Reply> => {
    const names = a.slice(1)
    for (const n of names) b.assertName(n)
    let removed = 0
    for (const n of names) if (await b.delete(n)) removed++
    return int(removed)
  }
  const spec = (
    name: string,
    arity: number,
    flags: string[],
    keys: readonly [number, number, number],
    summary: string,
    handler: CommandSpec['handler'],
  ): CommandSpec => ({ name, arity, flags, keys, group: 'generic', summary, handler })
  return [
    spec('del', -2, ['write'], all, 'Deletes counters (observed reset); replies how many existed.', del),
    spec('unlink', -2, ['write', 'fast'], all, 'As DEL.', del),
    {
      name: 'tally.del',
      arity: -2,
      flags: ['write'],
      keys: one,
      group: 'tally',
      summary: 'TALLY.DEL key [KEY idempotency-key] [CONSISTENCY one|quorum|all]',
      handler: (a) => tallyDel(b, a),
    },
    spec('expire', -3, w, one, 'Sets a TTL in seconds; 1 if set, 0 if no such counter.', (a) =>
      expire(b, a, 1000),
    ),
    spec('pexpire', -3, w, one, 'Sets a TTL in milliseconds; 1 if set, 0 if no such counter.', (a) =>
      expire(b, a, 1),
    ),
    spec('persist', 2, w, one, 'Removes the TTL; 1 if one was removed, else 0.', async (a) => {
      b.assertName(a[1] as string)
      return int((await b.persist(a[1] as string)) ? 1 : 0)
    }),
    spec('ttl', 2, r, one, 'Seconds left: -1 no TTL, -2 no such counter.', (a) =>
      ttl(b, a[1] as string, 1000),
    ),
    spec('pttl', 2, r, one, 'Milliseconds left: -1 no TTL, -2 no such counter.', (a) =>
      ttl(b, a[1] as string, 1),
    ),
  ]
}
