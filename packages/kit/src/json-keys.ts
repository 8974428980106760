// Duplicate keys in a JSON text. `JSON.parse` keeps the last of two equal
// keys (`{"amount":"x","amount":2}` is `{amount: 2}`), so a body checked by
// one reader and acted on by another could mean two things; the servers
// refuse such bodies instead. A reviver cannot see duplicates (it runs on the
// already merged object), hence this small scanner.

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
const COMMA = 0x2c

/**
 * The first key that appears twice in one object of `text`, decoded (so
 * `"a"` and `"\u0061"` are the same key), or undefined when every object's
 * keys are distinct. `text` must be valid JSON (call it after `JSON.parse`
 * succeeded): on anything else the answer is unspecified. A text with fewer
 * than two `:` cannot hold a duplicate and costs one `indexOf` pass. Linear
 * time; allocates one Set per object. Never throws on valid JSON.
 */
export function findDuplicateKey(text: string): string | undefined {
  const first = text.indexOf(':')
  if (first < 0 || text.indexOf(':', first + 1) < 0) return undefined
  // Per open container: the keys seen so far (object) or null (array).
  const stack: Array<Set<string> | null> = []
  let expectKey = false
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      let j = i + 1
      let escaped = false
      for (; j < n; j++) {
        const d = text.charCodeAt(j)
        if (d === BACKSLASH) {
          escaped = true
          j++
        } else if (d === QUOTE) break
      }
      if (expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j)
        const seen = stack[stack.length - 1] as Set<string>
        if (seen.has(key)) return key
        seen.add(key)
        expectKey = false
      }
      i = j
    } else if (c === OPEN_OBJECT) {
      stack.push(new Set())
      expectKey = true
    } else if (c === OPEN_ARRAY) {
      stack.push(null)
      expectKey = false
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop()
      expectKey = false
    } else if (c === COMMA) {
      expectKey = stack[stack.length - 1] instanceof Set
    } else if (c === COLON) {
      expectKey = false
    }
  }
  return undefined
}
