// Hashing for the order-independent state digest. Two 32-bit lanes give a
// 64-bit set hash: the digest of a state is the lane-wise sum (mod 2^32) of
// its entries' hashes, so updating one entry is O(1) (subtract old, add new).

const SEED1 = 0xdeadbeef
const SEED2 = 0x41c6ce57

/** A 64-bit hash as two unsigned 32-bit lanes. */
export interface Hash64 {
  h1: number
  h2: number
}

/** cyrb53-style hash of a string into two 32-bit lanes. Pure. */
export function hashString(s: string): Hash64 {
  let h1 = SEED1 ^ s.length
  let h2 = SEED2 ^ s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  return finish(h1, h2)
}

/**
 * `hashString(a + '\u0000' + b)` without building that string (an entry's
 * (name, replica) key is hashed on every change: the concatenation would be
 * a cons string flattened each time). Pure.
 */
export function hashPair(a: string, b: string): Hash64 {
  const out = { h1: 0, h2: 0 }
  hashPairInto(a, b, out)
  return out
}

/** {@link hashPair} written into `out` (no allocation, for hot paths). */
export function hashPairInto(a: string, b: string, out: Hash64): void {
  const len = a.length + 1 + b.length
  let h1 = SEED1 ^ len
  let h2 = SEED2 ^ len
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  pairTailInto(h1, h2, b, out)
}

/**
 * {@link hashPairInto} of a first string held as one-byte characters
 * (`len` bytes of `page` from `o`, e.g. a name in a NameArena): the same
 * hash as the string those bytes spell. No allocation.
 */
export function hashBytesPairInto(page: Uint8Array, o: number, len: number, b: string, out: Hash64): void {
  const total = len + 1 + b.length
  let h1 = SEED1 ^ total
  let h2 = SEED2 ^ total
  for (let i = o; i < o + len; i++) {
    const c = page[i] as number
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  pairTailInto(h1, h2, b, out)
}

// The part of a pair hash after its first string (h1, h2 so far): the
// separator, then `b`, then the finish, written into `out`.
function pairTailInto(h1: number, h2: number, b: string, out: Hash64): void {
  h1 = Math.imul(h1, 2654435761)
  h2 = Math.imul(h2, 1597334677)
  for (let i = 0; i < b.length; i++) {
    const c = b.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  finishInto(h1, h2, out)
}

/** Mixes a non-negative safe integer into a hash. Pure. */
export function mixNumber(h: Hash64, x: number): Hash64 {
  const lo = x >>> 0
  const hi = Math.floor(x / 0x100000000) >>> 0
  let h1 = Math.imul(h.h1 ^ lo, 2654435761)
  let h2 = Math.imul(h.h2 ^ hi, 1597334677)
  h1 = Math.imul(h1 ^ hi, 1597334677)
  h2 = Math.imul(h2 ^ lo, 2654435761)
  return finish(h1, h2)
}

/** `h = mixNumber(h, x)` in place (no allocation, for hot paths). */
export function mixInto(h: Hash64, x: number): void {
  const lo = x >>> 0
  const hi = Math.floor(x / 0x100000000) >>> 0
  let h1 = Math.imul(h.h1 ^ lo, 2654435761)
  let h2 = Math.imul(h.h2 ^ hi, 1597334677)
  h1 = Math.imul(h1 ^ hi, 1597334677)
  h2 = Math.imul(h2 ^ lo, 2654435761)
  finishInto(h1, h2, h)
}

function finishInto(a: number, b: number, out: Hash64): void {
  let h1 = a
  let h2 = b
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  out.h1 = h1 >>> 0
  out.h2 = h2 >>> 0
}

function finish(a: number, b: number): Hash64 {
  let h1 = a
  let h2 = b
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return { h1: h1 >>> 0, h2: h2 >>> 0 }
}

/** Renders a count and accumulator lanes as the digest string `count:hex16`. */
export function formatDigest(count: number, acc: Hash64): string {
  return `${count}:${acc.h1.toString(16).padStart(8, '0')}${acc.h2.toString(16).padStart(8, '0')}`
}
