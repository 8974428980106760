// The counter commands' view of the gateway: writes go through the same
// failover path as HTTP writes (Gateway.write: one idempotency key per
// write, generated when the client gave none, reused on every node tried),
// consistency-one reads through a node chosen by the strategy, the list of
// names through its read home (read-home.ts).

import { isValidName } from '@tally/crdt'
import type { CounterBackend } from '@tally/kit/resp'
import { RelayedError } from '../errors.js'
import { type Gateway, nameSegment } from '../gateway.js'
import { forwardLifecycle } from '../lifecycle-forward.js'
import { readName } from '../validate.js'

/** A {@link CounterBackend} forwarding to the nodes behind `gw`. */
export function gatewayBackend(gw: Gateway): CounterBackend {
  // One replica's state of `name` tells whether the counter exists (GET's nil) and its value.
  const get = async (name: string): Promise<number | undefined> => {
    if (!isValidName(name)) return undefined
    const m = await gw.readMerged(name, 'one')
    return m.exists(name) ? m.value(name) : undefined
  }
  const path = (name: string, suffix = '') => `/counters/${nameSegment(readName(name))}${suffix}`
  return {
    async mutate(w) {
      const name = readName(w.name)
      // ATTEMPT is the gateway's own business (it numbers the nodes it tries); a client's is not passed on.
      const served = await gw.write(`/counters/${nameSegment(name)}/${w.op}`, w.amount, w.key, w.consistency)
      const value = served.json.value
      if (typeof value !== 'number') throw new TypeError(`node ${served.nodeId} answered without a value`)
      return value
    },
    get,
    getMany: (names) => Promise.all(names.map(get)),
    async names() {
      const served = await gw.read('/counters')
      const list = served.json.counters
      if (!Array.isArray(list)) throw new TypeError(`node ${served.nodeId} answered /counters without a list`)
      return list.map((c: { name: string }) => c.name).sort()
    },
    assertName: (name) => {
      readName(name)
    },
    // Each command is one request with a fresh key, reused on every node tried.
    async delete(name, opts) {
      const served = await forwardLifecycle(gw, 'DELETE', path(name), undefined, opts?.key, opts?.consistency)
      return served.json.deleted === true
    },
    async expire(name, ttlMs) {
      try {
        await forwardLifecycle(gw, 'PUT', path(name, '/ttl'), { ttlMs }, undefined)
        return true
      } catch (err) {
        // The node's 404 for a counter it does not hold (its only 404 on this route).
        if (err instanceof RelayedError && err.statusCode === 404 && err.code !== 'TALLY_NOT_FOUND')
          return false
        throw err
      }
    },
    async persist(name) {
      return (
        (await forwardLifecycle(gw, 'DELETE', path(name, '/ttl'), undefined, undefined)).json.changed === true
      )
    },
    async ttl(name) {
      if ((await get(name)) === undefined) return undefined
      const left = (await gw.read(path(name))).json.ttlMs
      return typeof left === 'number' ? left : null
    },
  }
}
