// Idempotency-Key for rate-limit hits: a repeat of a keyed hit (a client's or
// the gateway's retry) gets the first answer and counts nothing. Kept in
// memory for as long as the hit can matter (two windows and the skew
// margin), at most `maxKeys` keys (oldest dropped first). Pure apart from the
// promises it holds; the clock is an argument.

import type { LimitAnswer } from '@tally/kit'
import { NodeError, NodeErrorCodes } from '../errors.js'
import { LIMIT_SKEW_MS } from './limit-table.js'

interface Entry {
  /** The request: a reuse of the key with another request is refused. */
  fp: string
  answer: Promise<LimitAnswer>
  expiresAt: number
}

/** The keys of recent hits and their answers. */
export class LimitKeys {
  readonly #keys = new Map<string, Entry>()
  readonly #maxKeys: number

  /** `maxKeys`: most keys held (a positive integer). */
  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys
  }

  /** Keys held. */
  get size(): number {
    return this.#keys.size
  }

  /**
   * The answer to a keyed hit: the first answer for a repeat (in flight or
   * settled), else `run()`'s, remembered until two windows after `now`. A
   * `run()` that rejects forgets the key (a retry may try again). Rejects with
   * NodeError TALLY_IDEMPOTENCY_MISMATCH when the key was first used for
   * another limit, window, limit value or amount.
   */
  answer(
    key: string,
    req: { name: string; limit: number; windowMs: number; amount: number },
    now: number,
    run: () => Promise<LimitAnswer>,
  ): Promise<LimitAnswer> {
    const fp = `${req.name}\u0000${req.limit}\u0000${req.windowMs}\u0000${req.amount}`
    const had = this.#keys.get(key)
    if (had && had.expiresAt > now) {
      if (had.fp !== fp)
        return Promise.reject(
          new NodeError(
            NodeErrorCodes.IDEMPOTENCY_MISMATCH,
            'this Idempotency-Key was first used for another hit (limit name, limit, windowMs or amount)',
          ),
        )
      return had.answer
    }
    const answer = run()
    const entry: Entry = { fp, answer, expiresAt: now + 2 * req.windowMs + LIMIT_SKEW_MS }
    this.#keys.delete(key)
    this.#keys.set(key, entry)
    answer.catch(() => {
      if (this.#keys.get(key) === entry) this.#keys.delete(key)
    })
    while (this.#keys.size > this.#maxKeys) {
      const oldest = this.#keys.keys().next().value as string
      this.#keys.delete(oldest)
    }
    return answer
  }

  /** Forgets keys expired at `now`. O(keys). */
  sweep(now: number): void {
    for (const [k, e] of this.#keys) if (e.expiresAt <= now) this.#keys.delete(k)
  }
}
