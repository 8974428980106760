import type { Delta } from '@tally/crdt'
import { describe, expect, it } from 'vitest'
import type { Membership } from '../../src/membership/membership.js'
import { CHUNK_ENTRIES, EagerPush } from '../../src/replication/eager-push.js'
import { type Message, MsgType } from '../../src/wire/messages.js'
import type { Transport } from '../../src/wire/transport.js'

describe('EagerPush', () => {
  it('cuts a burst bigger than one frame into parts of at most CHUNK_ENTRIES entries, ranges on the last', () => {
    const sent: Message[][] = []
    const transport = {
      sendAll: (_a: string, msgs: readonly Message[]) => sent.push([...msgs]),
    } as unknown as Transport
    const membership = { self: { id: 'a' }, pushTargets: () => ['b:1'] } as unknown as Membership
    const push = new EagerPush({ transport, membership, fanout: 1, stats: { pushesOut: 0, forwards: 0 } })
    const n = CHUNK_ENTRIES + 5
    for (let i = 1; i <= n; i++) {
      const d: Delta = { ranges: [['a.1', i - 1, i]], entries: [[`c${i}`, 'a.1', 1, 0, i]] }
      push.local(d)
    }
    push.flush()
    expect(sent).toHaveLength(1)
    const parts = (sent[0] as Message[]).map((m) => (m as { delta: Delta }).delta)
    expect(parts.map((d) => d.entries.length)).toEqual([CHUNK_ENTRIES, 5])
    expect(parts[0]?.ranges).toEqual([])
    expect(parts[1]?.ranges).toEqual([['a.1', 0, n]])
  })

  it('leads each sequence, local or forwarded, with the messages `ahead` gives for its delta', () => {
    const sent: Message[][] = []
    const transport = {
      sendAll: (_a: string, msgs: readonly Message[]) => sent.push([...msgs]),
    } as unknown as Transport
    const membership = { self: { id: 'a' }, pushTargets: () => ['b:1'] } as unknown as Membership
    const marks: Message = { t: MsgType.MARKS, f: 'a', m: [['x', { 'a.1': 1 }, {}, 0]] }
    const stats = { pushesOut: 0, forwards: 0 }
    const push = new EagerPush({ transport, membership, fanout: 1, stats, ahead: () => [marks] })
    const d: Delta = { ranges: [['a.1', 1, 2]], entries: [['x', 'a.1', 3, 0, 2]] }
    push.local(d)
    push.forward(d, undefined, 'c')
    push.flush()
    expect(sent.map((seq) => seq.map((m) => m.t))).toEqual([
      [MsgType.MARKS, MsgType.PUSH],
      [MsgType.MARKS, MsgType.PUSH],
    ])
    expect(stats).toEqual({ pushesOut: 1, forwards: 1 })
  })
})
