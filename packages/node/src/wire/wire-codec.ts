// msgpack encoding of gossip messages with a decoder that trusts nothing:
// maps come back as Map (so no key is ever assigned onto an object by the
// library), then are copied into null-prototype objects by `toPlain`, which
// refuses `__proto__` keys, non-string keys, extension types and deep nesting.

import { Packr, Unpackr } from 'msgpackr'

/** Deepest nesting accepted in a decoded message (a delta entry sits at depth 4). */
export const MAX_DEPTH = 16

// Records, structured clone and extra types off: plain msgpack maps, arrays and scalars only.
const packr = new Packr({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  variableMapSize: true,
})
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: false,
  structuredClone: false,
  moreTypes: false,
})

/** Thrown by {@link decodeValue} for bytes that are not an acceptable message value. */
export class WireError extends Error {
  readonly reason: string
  constructor(reason: string, message: string) {
    super(message)
    this.name = 'WireError'
    this.reason = reason
  }
}

/** Encodes a plain message (objects, arrays, strings, safe numbers, booleans). Pure. */
export function encodeValue(value: unknown): Buffer {
  return packr.pack(value)
}

/**
 * Decodes one msgpack value into plain data (objects have a null prototype).
 * Throws {@link WireError} (`reason` = 'msgpack' | 'type' | 'key' | 'depth') for
 * anything else; never returns a partially checked value.
 */
export function decodeValue(bytes: Uint8Array): unknown {
  let raw: unknown
  try {
    raw = unpackr.unpack(bytes)
  } catch (err) {
    throw new WireError('msgpack', `undecodable msgpack: ${(err as Error).message}`)
  }
  return toPlain(raw, 0)
}

function toPlain(x: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new WireError('depth', `nesting deeper than ${MAX_DEPTH}`)
  if (x === null || typeof x === 'string' || typeof x === 'boolean') return x
  // bigint (int64 outside the safe range) is refused later by shape checks; keep it typed.
  if (typeof x === 'number' || typeof x === 'bigint') return x
  if (Array.isArray(x)) {
    const out = new Array<unknown>(x.length)
    for (let i = 0; i < x.length; i++) out[i] = toPlain(x[i], depth + 1)
    return out
  }
  if (x instanceof Map) {
    const out: Record<string, unknown> = Object.create(null)
    for (const [k, v] of x) {
      if (typeof k !== 'string') throw new WireError('key', 'map key is not a string')
      // Objects here have a null prototype, so only `__proto__` (which the CRDT
      // also refuses as a name or replica id) could mean anything special.
      if (k === '__proto__') throw new WireError('key', 'forbidden map key "__proto__"')
      out[k] = toPlain(v, depth + 1)
    }
    return out
  }
  throw new WireError('type', `unsupported value type ${Object.prototype.toString.call(x)}`)
}
