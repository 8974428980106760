// TALLY.LIMIT's view of a TallyNode: the hit is decided by the node's limits
// (limits/limits.ts), answered once an allowed hit is durable.

import type { LimitBackend } from '@tally/kit/resp'
import type { TallyNode } from '../node.js'

/** A {@link LimitBackend} over `node`. Rejects as `Limits.hit` does (codes rendered by the listener). */
export function nodeLimitBackend(node: TallyNode): LimitBackend {
  return { limitHit: (name, hit, key) => node.limits.hit(name, hit, key) }
}
