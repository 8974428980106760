import { describe, expect, it } from 'vitest'
import { MsgType, readMessage } from '../src/messages.js'

const origin = { f: 'n1', a: '127.0.0.1:9000' }
const digest = '0:0000000000000000'

describe('readMessage', () => {
  it.each([
    { t: MsgType.PULL, ...origin, d: digest, md: 'abc' },
    { t: MsgType.PULL, ...origin, h: 'http://127.0.0.1:8010', d: digest, md: 'abc' },
    { t: MsgType.ACK, ...origin, d: digest, md: 'x', s: { 'n1.1': 3 } },
    { t: MsgType.PUSH, f: 'n1', delta: { ranges: [], entries: [] } },
    { t: MsgType.PUSH, f: 'n1', a: 'h:1', delta: { ranges: [], entries: [] }, q: 4, s: {} },
    { t: MsgType.PUSH_ACK, f: 'n1', q: 0 },
    {
      t: MsgType.MEMBERS,
      f: 'n1',
      m: [
        ['n2', 'h:2', ''],
        ['n3', 'h:3', 'http://h:3'],
      ],
    },
    { t: MsgType.LEAVE, f: 'n1' },
  ])('accepts %j', (m) => {
    expect(readMessage(m)).toBe(m)
  })

  it.each([
    null,
    42,
    [],
    {},
    { t: 99, f: 'n1' },
    { t: MsgType.PULL, ...origin, d: 'nope', md: '' },
    { t: MsgType.PULL, ...origin, d: digest, md: '', extra: 1 },
    { t: MsgType.PULL, f: 'bad id!', a: 'h:1', d: digest, md: '' },
    { t: MsgType.ACK, ...origin, d: digest, md: '', s: [1] },
    { t: MsgType.PUSH, f: 'n1', delta: 'x' },
    { t: MsgType.PUSH, f: 'n1', delta: {}, q: -1 },
    { t: MsgType.PUSH, f: 'n1', delta: {}, q: 1.5 },
    { t: MsgType.PUSH_ACK, f: 'n1' },
    { t: MsgType.MEMBERS, f: 'n1', m: [['n2', 'h:2']] },
    { t: MsgType.MEMBERS, f: 'n1', m: [['n2', 'h:2', 'ftp://x']] },
    { t: MsgType.LEAVE },
    { t: '1', ...origin, d: digest, md: '' },
  ])('refuses %j', (m) => {
    expect(readMessage(m)).toBeNull()
  })
})
