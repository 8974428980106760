// The counter commands' view of the gateway: writes go through the same
// failover path as HTTP writes (Gateway.write: one idempotency key per
// write, generated when the client gave none, reused on every node tried),
// reads through a node chosen by the strategy.

import { isValidName } from '@tally/crdt'
import type { CounterBackend } from '@tally/kit/resp'
import { type Gateway, nameSegment } from '../gateway.js'
import { readName } from '../validate.js'

/** A {@link CounterBackend} forwarding to the nodes behind `gw`. */
export function gatewayBackend(gw: Gateway): CounterBackend {
  // One replica's state of `name` tells whether the counter exists (GET's nil) and its value.
  const get = async (name: string): Promise<number | undefined> => {
    if (!isValidName(name)) return undefined
    const m = await gw.readMerged(name, 'one')
    return m.names().includes(name) ? m.value(name) : undefined
  }
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
  }
}
