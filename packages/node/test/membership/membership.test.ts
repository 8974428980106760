import { describe, expect, it } from 'vitest'
import { MAX_FORGOTTEN, Membership } from '../../src/membership/membership.js'

function make() {
  let now = 1_000_000
  const m = new Membership({
    self: { id: 'me', addr: 'h:1', http: 'http://h:2' },
    detector: { suspectAfterMs: 2000, deadAfterMs: 6000 },
    probeBaseMs: 100,
    probeMaxMs: 1000,
    now: () => now,
    rand: () => 0.5,
  })
  return { m, advance: (ms: number) => (now += ms) }
}

describe('Membership', () => {
  it('probes seeds until a member with that address answers', () => {
    const { m } = make()
    m.seed(['s:1', 'h:1'])
    expect(m.gossipTargets(3)).toEqual(['s:1'])
    m.observe('seedy', 's:1', 'http://s:2')
    expect(m.gossipTargets(3)).toEqual(['s:1'])
    expect(m.list()).toEqual([
      { id: 'seedy', addr: 's:1', http: 'http://s:2', state: 'live', lastContact: expect.any(Number) },
    ])
  })

  it('forgets addresses discovery dropped: seeds and members go, gossip cannot bring them back, contact can', () => {
    const { m } = make()
    m.seed(['a:1', 'b:1', 'c:1'])
    m.observe('a', 'a:1', 'http://a:2')
    m.observe('b', 'b:1', 'http://b:2')
    m.forget(['b:1', 'c:1', 'h:1'])
    expect(m.list().map((p) => p.id)).toEqual(['a'])
    expect(m.gossipTargets(3)).toEqual(['a:1'])
    const before = m.digest()
    // A peer that has not noticed yet gossips b: ignored.
    m.learn([{ id: 'b', addr: 'b:1', http: 'http://b:2' }])
    expect(m.list().map((p) => p.id)).toEqual(['a'])
    expect(m.digest()).toBe(before)
    // b itself speaks again (first-hand): back.
    m.observe('b', 'b:1', 'http://b:2')
    expect(m.list().map((p) => p.id)).toEqual(['a', 'b'])
    // c is listed again by discovery: seeded, and gossip about it is heard again.
    m.seed(['c:1'])
    m.learn([{ id: 'c', addr: 'c:1' }])
    expect(m.list().map((p) => p.id)).toEqual(['a', 'b', 'c'])
  })

  it('bounds the forgotten set', () => {
    const { m } = make()
    m.forget(Array.from({ length: MAX_FORGOTTEN + 1 }, (_, i) => `x${i}:1`))
    // The oldest fell out: gossip about it is heard again; the newest is still ignored.
    m.learn([
      { id: 'old', addr: 'x0:1' },
      { id: 'new', addr: `x${MAX_FORGOTTEN}:1` },
    ])
    expect(m.list().map((p) => p.id)).toEqual(['old'])
  })

  it('goes live → suspect → dead on silence, back to live on contact', () => {
    const { m, advance } = make()
    m.observe('p', 'p:1')
    const seen: string[] = []
    m.onChange = (id, from, to) => seen.push(`${id}:${from}>${to}`)
    advance(2500)
    m.tick()
    expect(m.counts()).toEqual({ live: 0, suspect: 1, dead: 0 })
    advance(4000)
    m.tick()
    expect(m.counts()).toEqual({ live: 0, suspect: 0, dead: 1 })
    m.observe('p', 'p:1')
    expect(m.counts()).toEqual({ live: 1, suspect: 0, dead: 0 })
    expect(seen).toEqual(['p:live>suspect', 'p:suspect>dead', 'p:dead>live'])
  })

  it('skips dead peers for fanout but retries them with backoff', () => {
    const { m, advance } = make()
    m.observe('p', 'p:1')
    m.leave('p')
    expect(m.pushTargets(3)).toEqual([])
    expect(m.gossipTargets(3)).toEqual([])
    advance(100)
    expect(m.gossipTargets(3)).toEqual(['p:1'])
    expect(m.gossipTargets(3)).toEqual([])
    advance(1000)
    expect(m.gossipTargets(3)).toEqual(['p:1'])
  })

  it('learns peers second-hand without overriding first-hand addresses, ignores itself', () => {
    const { m } = make()
    m.observe('a', 'a:1')
    m.learn([
      { id: 'a', addr: 'elsewhere:9' },
      { id: 'b', addr: 'b:1', http: 'http://b:2' },
      { id: 'me', addr: 'x:1' },
    ])
    expect(m.list().map((p) => [p.id, p.addr])).toEqual([
      ['a', 'a:1'],
      ['b', 'b:1'],
    ])
    expect(m.size()).toBe(3)
    expect(m.tuples()).toContainEqual(['me', 'h:1', 'http://h:2'])
  })

  it('member digest depends on the set of ids, addresses and HTTP URLs only', () => {
    const x = make().m
    const y = make().m
    x.learn([{ id: 'a', addr: 'a:1' }])
    expect(x.digest()).not.toBe(y.digest())
    y.observe('a', 'a:1')
    expect(x.digest()).toBe(y.digest())
    y.tick()
    expect(x.digest()).toBe(y.digest())
    y.observe('a', 'a:1', 'http://a')
    expect(x.digest()).not.toBe(y.digest())
    x.learn([{ id: 'a', addr: 'a:1', http: 'http://a' }])
    expect(x.digest()).toBe(y.digest())
  })

  it('push targets exclude the sender and prefer live peers', () => {
    const { m, advance } = make()
    m.observe('a', 'a:1')
    advance(3000)
    m.observe('b', 'b:1')
    m.tick()
    expect(m.pushTargets(1)).toEqual(['b:1'])
    expect(m.pushTargets(3, 'b')).toEqual(['a:1'])
  })
})
