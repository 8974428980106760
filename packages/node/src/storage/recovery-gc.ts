// Recovery reads a snapshot as many short-lived buffers (each chunk's bytes
// and the typed arrays decoded from them), held outside V8's heap. V8 frees
// such a buffer only when it collects the small object that owns it, and
// while the map is rebuilt few heap objects are made, so collections are
// rare: tens of megabytes of dead chunks pile up between them. The
// allocator then hands their space to the map's growing pages, and what it
// reached stays resident. A young-generation collection every 32 slices
// (recovery.ts) frees the dead chunks as the map grows: a node started on
// 1 000 000 counters × 3 replicas held 191 MB instead of 199 MB (every 16
// slices: 189 MB at 8 % more CPU; every 128: no change).
//
// Node has no API for a collection; V8's `gc` function, exposed to a new
// context once --expose-gc is set, is the one way in from a running
// process. When that fails (another runtime, another V8), recovery goes on
// without it: only the memory figure changes.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type GcFunction = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void

let found: GcFunction | null | undefined

/**
 * A function that runs one young-generation collection, or null when this
 * runtime offers none. The first call looks it up (setting V8's --expose-gc
 * for one new context, then clearing it again); later calls return the same.
 * Never throws.
 */
export function minorCollection(): (() => void) | null {
  if (found === undefined) found = lookUp()
  const gc = found
  return gc === null ? null : () => gc({ type: 'minor' })
}

function lookUp(): GcFunction | null {
  const own = (globalThis as { gc?: unknown }).gc
  if (typeof own === 'function') return own as GcFunction
  try {
    setFlagsFromString('--expose-gc')
    const gc: unknown = runInNewContext('gc')
    return typeof gc === 'function' ? (gc as GcFunction) : null
  } catch {
    return null
  } finally {
    // Later contexts (none the node makes) get no `gc` of their own.
    setFlagsFromString('--no-expose-gc')
  }
}
