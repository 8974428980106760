import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { findDuplicateKey } from '../src/json-keys.js'

describe('findDuplicateKey', () => {
  it.each([
    ['{"amount":"x","amount":2}', 'amount'],
    ['{"a":1,"b":{"c":1,"c":2}}', 'c'],
    ['[{"a":1},{"a":1,"a":2}]', 'a'],
    // Escapes are decoded: both keys are "a".
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{ "a" : 1 , "a" : 2 }', 'a'],
    ['{"":1,"":2}', ''],
  ])('%s → %j', (text, key) => {
    expect(findDuplicateKey(text)).toBe(key)
  })

  it.each([
    '{"amount":2}',
    '{}',
    '1',
    '"a:b:c"',
    '{"a":{"a":1},"b":[{"a":1},{"a":2}]}',
    '{"a":"x\\"a\\":1","b":"\\\\"}',
    '{"a:":1,"b":"a:a"}',
    '[1,2,{"x":[{"x":1}]}]',
  ])('%s has none', (text) => {
    expect(findDuplicateKey(text)).toBeUndefined()
  })

  it('agrees with a key count of JSON.parse on generated JSON', () => {
    const distinct = (v: unknown): boolean =>
      Array.isArray(v)
        ? v.every(distinct)
        : typeof v === 'object' && v !== null
          ? Object.values(v).every(distinct)
          : true
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        // JSON.stringify never repeats a key: no duplicate to find.
        const text = JSON.stringify(v)
        expect(distinct(v)).toBe(true)
        expect(findDuplicateKey(text)).toBeUndefined()
      }),
    )
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }),
        fc.jsonValue(),
        (obj, extra) => {
          const [key] = Object.keys(obj) as [string]
          const text = `${JSON.stringify(obj).slice(0, -1)},${JSON.stringify(key)}:${JSON.stringify(extra) ?? 'null'}}`
          expect(findDuplicateKey(text)).toBe(key)
        },
      ),
    )
  })
})
