// R_PULL / R_STATE / R_MARKS / R_ACK frames (consistent deletes and TTL
// changes) from untrusted peers: well-formed ones pass, every malformed shape
// is refused (readMessage returns null, the connection is dropped).

import { describe, expect, it } from 'vitest'
import { MsgType, readMessage } from '../../src/wire/messages.js'

const record = {
  key: 'k-1',
  name: 'c',
  op: 'delete',
  ttlMs: 0,
  answer: { name: 'c', deleted: true, value: 0 },
  at: 5,
}
const tuple = ['c', { r1: 3 }, {}, 0]
const pull = { t: MsgType.R_PULL, f: 'n1', q: 7, n: 'c', k: 'k-1' }
const state = {
  t: MsgType.R_STATE,
  f: 'n2',
  q: 7,
  delta: { ranges: [], entries: [] },
  m: [tuple],
  r: [record],
}
const marks = { t: MsgType.R_MARKS, f: 'n1', m: [tuple], r: [record], q: 8 }
const ack = { t: MsgType.R_ACK, f: 'n2', q: 8 }

describe('reset messages', () => {
  it('accepts well-formed pulls, states, marks and acks (optional fields left out too)', () => {
    for (const msg of [pull, state, marks, ack]) expect(readMessage(msg)).toEqual(msg)
    expect(readMessage({ t: 9, f: 'n1', q: 0, n: 'c' })).not.toBeNull()
    expect(readMessage({ t: 10, f: 'n1', q: 0, delta: { entries: [] } })).not.toBeNull()
    expect(readMessage({ t: 11, f: 'n1', m: [] })).not.toBeNull()
  })

  it.each([
    ['pull: no request id', { ...pull, q: undefined }],
    ['pull: negative request id', { ...pull, q: -1 }],
    ['pull: bad name', { ...pull, n: 'a b' }],
    ['pull: bad key', { ...pull, k: ' lead' }],
    ['pull: unknown field', { ...pull, x: 1 }],
    ['pull: bad sender', { ...pull, f: 'bad id!' }],
    ['state: delta not an object', { ...state, delta: [] }],
    ['state: bad mark tuple', { ...state, m: [['c', { r1: -1 }, {}, 0]] }],
    ['state: bad record', { ...state, r: [{ ...record, op: 'rename' }] }],
    ['state: too many records', { ...state, r: Array.from({ length: 17 }, () => record) }],
    ['marks: no tuples', { t: 11, f: 'n1' }],
    ['marks: fractional request id', { ...marks, q: 1.5 }],
    ['marks: record without answer', { ...marks, r: [{ ...record, answer: null }] }],
    ['ack: extra field', { ...ack, m: [] }],
    ['ack: no request id', { t: 12, f: 'n2' }],
  ])('refuses %s', (_what, msg) => {
    expect(readMessage(msg)).toBeNull()
  })
})
