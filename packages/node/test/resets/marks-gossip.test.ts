import { describe, expect, it } from 'vitest'
import type { Membership } from '../../src/membership/membership.js'
import type { CounterLifecycle } from '../../src/resets/counter-lifecycle.js'
import type { MarkTuple } from '../../src/resets/mark-tuple.js'
import { MarksGossip } from '../../src/resets/marks-gossip.js'
import { type MarksMsg, MsgType } from '../../src/wire/messages.js'
import type { Transport } from '../../src/wire/transport.js'

// The whole-set answer to a differing digest probe: which marks it carries.
function setup(o: { unwritten: Set<string>; bare: Set<string> }) {
  const tuples = ['a', 'b', 'c'].map((n) => [n, 5, 0, null] as unknown as MarkTuple)
  const life = {
    marks: { tuples: () => tuples, digest: () => 'ours', size: tuples.length },
    isBareMark: (n: string) => o.bare.has(n),
    markWritten: (n: string) => !o.unwritten.has(n),
    mergeRemote: () => [],
  } as unknown as CounterLifecycle
  const sent: MarksMsg[] = []
  const transport = { send: (_addr: string, msg: MarksMsg) => sent.push(msg) } as unknown as Transport
  const membership = { self: { id: 'n1' }, addrOf: () => '127.0.0.1:1' } as unknown as Membership
  const gossip = new MarksGossip({ lifecycle: life, transport, membership })
  gossip.onMessage({ t: MsgType.MARKS, f: 'n2', d: 'theirs' })
  return sent.flatMap((m) => (m.m ?? []).map((t) => t[0]))
}

describe('MarksGossip whole-set answer', () => {
  it('sends every durable mark of a counter it holds', () => {
    expect(setup({ unwritten: new Set(), bare: new Set() })).toEqual(['a', 'b', 'c'])
  })

  it('leaves out a mark whose local change is still being written, and a bare mark', () => {
    expect(setup({ unwritten: new Set(['b']), bare: new Set(['c']) })).toEqual(['a'])
  })
})
