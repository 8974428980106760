// The counter commands' view of a TallyNode: plain writes gathered into
// batches (write-batcher.ts), keyed or quorum writes through TallyNode.mutate
// (idempotency keys honoured); all resolved once durable. Deletes and TTLs
// through its lifecycle methods. Reads from its map under the reset marks,
// after the writes queued before them.

import { isValidName, MAX_NAME_LENGTH } from '@tally/crdt'
import type { CounterBackend } from '@tally/kit/resp'
import { isNodeError, NodeErrorCodes } from '../errors.js'
import type { TallyNode } from '../node.js'
import { WriteBatcher } from './write-batcher.js'

/** An error with a stable code, for refusals made here rather than by the node. */
export class RespRefusal extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'RespRefusal'
    this.code = code
  }
}

/** Throws TALLY_STORE_FAILED once the node stopped serving after a storage failure. */
function assertServing(node: TallyNode): void {
  const why = node.storeFailure
  if (why !== null) {
    throw new RespRefusal(
      'TALLY_STORE_FAILED',
      `this node stopped serving after a write could not be made durable (${why}); restart it once storage is fixed`,
    )
  }
}

/** A {@link CounterBackend} over `node`. Reads are synchronous; writes resolve once durable. */
export function nodeBackend(node: TallyNode): CounterBackend {
  const batcher = new WriteBatcher(node)
  const get = (name: string): number | undefined => {
    batcher.flush()
    assertServing(node)
    if (!isValidName(name) || !node.exists(name)) return undefined
    return node.value(name)
  }
  return {
    mutate(w) {
      if (w.key === undefined && (w.consistency ?? 'one') === 'one') {
        return batcher.add({ name: w.name, op: w.op, amount: w.amount })
      }
      // Keyed or quorum writes go alone, after the plain ones queued before them.
      batcher.flush()
      return node
        .mutate({
          name: w.name,
          op: w.op,
          amount: w.amount,
          key: w.key,
          attempt: w.attempt,
          consistency: w.consistency ?? 'one',
        })
        .then((r) => r.value)
    },
    get,
    getMany: (names) => names.map(get),
    names: () => {
      batcher.flush()
      assertServing(node)
      return node.names()
    },
    delete: async (name, opts) => {
      batcher.flush()
      return (await node.delete(name, opts?.key, opts?.consistency)).deleted
    },
    async expire(name, ttlMs) {
      batcher.flush()
      try {
        await node.expire(name, ttlMs)
        return true
      } catch (err) {
        if (isNodeError(err, NodeErrorCodes.COUNTER_NOT_FOUND)) return false
        throw err
      }
    },
    persist: async (name) => {
      batcher.flush()
      return (await node.persist(name)).changed
    },
    ttl(name) {
      batcher.flush()
      assertServing(node)
      if (!isValidName(name) || !node.exists(name)) return undefined
      return node.ttlMs(name) ?? null
    },
    assertName: (name) => {
      if (!isValidName(name)) {
        throw new RespRefusal(
          'TALLY_NAME_INVALID',
          `counter name must be 1-${MAX_NAME_LENGTH} printable ASCII characters without spaces, got ${JSON.stringify(String(name).slice(0, 40))}`,
        )
      }
    },
  }
}
