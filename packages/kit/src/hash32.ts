// A 32-bit string hash for placing things, not for security: the gateway's
// rendezvous scores and the node's key-ledger index both use it.

/**
 * 32-bit FNV-1a of every UTF-16 code unit of `s`, with a murmur3 finaliser,
 * so that every bit of the result (the top ones that pick a table, the low
 * ones that pick a slot, a rendezvous score) depends on every character:
 * strings that begin or end alike (`order-<n>`, `<uuid>:retry`) spread
 * evenly. Pure.
 */
export function hash32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
