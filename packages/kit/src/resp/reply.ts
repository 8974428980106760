// Replies of a Redis server, as values, and their RESP2 / RESP3 encodings.
// Strings are byte strings: one char per byte (latin1), so arguments come back
// byte for byte (ECHO) and the encoded length is the string length. Write the
// encoded text to the socket with the 'latin1' encoding.

/** One reply. RESP3-only shapes (map, set, null, bool, verbatim, double) fall back to their RESP2 form. */
export type Reply =
  | { readonly t: 'simple'; readonly v: string }
  | { readonly t: 'error'; readonly v: string }
  | { readonly t: 'int'; readonly v: number }
  | { readonly t: 'bulk'; readonly v: string }
  | { readonly t: 'array'; readonly v: readonly Reply[] }
  | { readonly t: 'map'; readonly v: ReadonlyArray<readonly [Reply, Reply]> }
  | { readonly t: 'set'; readonly v: readonly Reply[] }
  | { readonly t: 'verbatim'; readonly v: string }
  | { readonly t: 'null' }
  | { readonly t: 'nullArray' }

/** Protocol version a connection speaks (HELLO 2 / HELLO 3). */
export type Proto = 2 | 3

/** `+OK`. */
export const OK: Reply = { t: 'simple', v: 'OK' }
/** The missing value: `$-1` in RESP2, `_` in RESP3. */
export const NIL: Reply = { t: 'null' }

/** A simple string; CR and LF are replaced by spaces (they would end the reply). */
export const simple = (v: string): Reply => ({ t: 'simple', v: oneLine(v) })
/** An error reply: `v` starts with its code word (`ERR`, `NOAUTH`, `TALLY`…). */
export const error = (v: string): Reply => ({ t: 'error', v: oneLine(v) })
/** Integer replies 0…SMALL_INTS−1 are made and encoded once (counts, EXISTS, small counters). */
const SMALL_INTS = 1024
const SMALL_INT_REPLIES: readonly Reply[] = Array.from({ length: SMALL_INTS }, (_, v) => ({ t: 'int', v }))
const SMALL_INT_TEXT: readonly string[] = Array.from({ length: SMALL_INTS }, (_, v) => `:${v}\r\n`)

/** An integer reply; `v` must be a safe integer. Small non-negative values share one cached reply. */
export const int = (v: number): Reply =>
  v >= 0 && v < SMALL_INTS && (v | 0) === v ? (SMALL_INT_REPLIES[v] as Reply) : { t: 'int', v }
/** A bulk string (byte string, see the file comment). */
export const bulk = (v: string): Reply => ({ t: 'bulk', v })
/** An array reply. */
export const array = (v: readonly Reply[]): Reply => ({ t: 'array', v })
/** A map (RESP3 `%`); a flat key, value, key, value… array in RESP2. */
export const map = (v: ReadonlyArray<readonly [Reply, Reply]>): Reply => ({ t: 'map', v })
/** A set (RESP3 `~`); an array in RESP2. */
export const set = (v: readonly Reply[]): Reply => ({ t: 'set', v })
/** Text such as INFO: a verbatim string (`=…txt:`) in RESP3, a bulk string in RESP2. */
export const verbatim = (v: string): Reply => ({ t: 'verbatim', v })

/** Replaces CR/LF and characters beyond one byte, so any text fits a simple string or error line. */
export function oneLine(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: CR and LF are the point
  return s.replace(/[\r\n]/g, ' ').replace(/[^\u0000-\u00ff]/g, '?')
}

/** Encodes `r` for a connection speaking `proto`. Pure; never throws for a well-formed reply. */
export function encode(r: Reply, proto: Proto): string {
  switch (r.t) {
    case 'simple':
      return `+${r.v}\r\n`
    case 'error':
      return `-${r.v}\r\n`
    case 'int':
      return r.v >= 0 && r.v < SMALL_INTS && (r.v | 0) === r.v
        ? (SMALL_INT_TEXT[r.v] as string)
        : `:${r.v}\r\n`
    case 'bulk':
      return `$${r.v.length}\r\n${r.v}\r\n`
    case 'null':
      return proto === 3 ? '_\r\n' : '$-1\r\n'
    case 'nullArray':
      return proto === 3 ? '_\r\n' : '*-1\r\n'
    case 'verbatim':
      return proto === 3 ? `=${r.v.length + 4}\r\ntxt:${r.v}\r\n` : `$${r.v.length}\r\n${r.v}\r\n`
    case 'array':
    case 'set': {
      let out = `${r.t === 'set' && proto === 3 ? '~' : '*'}${r.v.length}\r\n`
      for (const x of r.v) out += encode(x, proto)
      return out
    }
    case 'map': {
      let out = proto === 3 ? `%${r.v.length}\r\n` : `*${r.v.length * 2}\r\n`
      for (const [k, v] of r.v) out += encode(k, proto) + encode(v, proto)
      return out
    }
  }
}
