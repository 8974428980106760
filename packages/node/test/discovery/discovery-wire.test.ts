import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  errorDetail,
  mergePeerLists,
  readLimited,
  readPeerList,
  versionOf,
} from '../../src/discovery/discovery-wire.js'

describe('discovery wire (untrusted replies)', () => {
  it('readPeerList keeps valid peers, drops self and junk', () => {
    const body = {
      peers: [
        { id: 'b', addr: '127.0.0.1:9001', http: 'http://127.0.0.1:8011', lastSeen: 'x', status: 'alive' },
        { id: 'me', addr: '127.0.0.1:9000' },
        { id: 'c', addr: '[::1]:9002', http: 'javascript:alert(1)' },
        { id: 'bad id', addr: '127.0.0.1:9003' },
        { id: 'd', addr: '127.0.0.1:0' },
        { id: 'e', addr: 'no-port' },
        null,
        'x',
      ],
    }
    expect(readPeerList(body, 'me')).toEqual([
      { id: 'b', addr: '127.0.0.1:9001', http: 'http://127.0.0.1:8011' },
      { id: 'c', addr: '[::1]:9002' },
    ])
    expect(readPeerList(body.peers, 'me')).toHaveLength(2)
    expect(readPeerList('garbage', 'me')).toEqual([])
  })

  it('readPeerList never throws on arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => Array.isArray(readPeerList(v, 'me'))))
  })

  it('mergePeerLists unions by id, first list wins, sorted', () => {
    const merged = mergePeerLists([
      [{ id: 'b', addr: 'h:1' }],
      [
        { id: 'a', addr: 'h:2' },
        { id: 'b', addr: 'h:3' },
      ],
    ])
    expect(merged).toEqual([
      { id: 'a', addr: 'h:2' },
      { id: 'b', addr: 'h:1' },
    ])
  })

  it('versionOf takes a bounded string version from a body or its text', () => {
    expect(versionOf({ version: 'ab.3' })).toBe('ab.3')
    expect(versionOf('{"version":"ab.3","id":"x"}')).toBe('ab.3')
    expect(versionOf({ version: 3 })).toBeUndefined()
    expect(versionOf({ version: 'x'.repeat(65) })).toBeUndefined()
    expect(versionOf('not json')).toBeUndefined()
    expect(versionOf(null)).toBeUndefined()
  })

  it('errorDetail extracts the error code and message, bounded', () => {
    expect(errorDetail('{"error":{"code":"TALLY_UNAUTHORIZED","message":"no"}}')).toBe(
      ': TALLY_UNAUTHORIZED no',
    )
    expect(errorDetail('garbage')).toBe('')
    expect(errorDetail(`{"error":{"code":"X","message":"${'m'.repeat(1000)}"}}`).length).toBe(300)
  })

  it('readLimited reads small bodies and refuses big ones', async () => {
    expect(await readLimited(new Response('hello'), 10)).toBe('hello')
    expect(await readLimited(new Response(null, { status: 204 }), 10)).toBe('')
    await expect(readLimited(new Response('x'.repeat(11)), 10)).rejects.toThrow('larger than 10')
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(new Uint8Array(4))
      },
    })
    // An endless body without content-length is cut off at the limit.
    await expect(readLimited(new Response(stream), 100)).rejects.toThrow('larger than 100')
  })
})
