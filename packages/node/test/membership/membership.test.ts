import { describe, expect, it } from 'vitest'
import { MAX_FORGOTTEN, Membership } from '../../src/membership/membership.js'

function make(probeMaxMs = 1000) {
  let now = 1_000_000
  const m = new Membership({
    self: { id: 'me', addr: 'h:1', http: 'http://h:2' },
    detector: { probeAfterMs: 600, suspectAfterMs: 2000, deadAfterMs: 6000, lateTickMs: 10_000 },
    probeBaseMs: 100,
    probeMaxMs,
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

  it('probes every silent live or suspect member directly, counting them towards the fanout', () => {
    const { m, advance } = make()
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) m.observe(id, `${id}:1`)
    advance(100)
    expect(m.gossipTargets(2)).toHaveLength(2)
    advance(500)
    m.observe('a', 'a:1')
    m.observe('b', 'b:1')
    // c..f silent for 600 ms: all four probed, the fanout is already covered.
    expect(m.gossipTargets(2).sort()).toEqual(['c:1', 'd:1', 'e:1', 'f:1'])
    m.observe('c', 'c:1')
    m.observe('d', 'd:1')
    m.observe('e', 'e:1')
    // f alone is silent: probed, plus one random other to make up the fanout.
    const t = m.gossipTargets(2)
    expect(t).toHaveLength(2)
    expect(t).toContain('f:1')
    expect(new Set(t).size).toBe(2)
  })

  it('reports state changes from tick, and a late tick downgrades nobody', () => {
    const { m, advance } = make()
    m.observe('p', 'p:1')
    m.tick()
    advance(12_000)
    // 12 s since the last tick: this node was stalled, p may well have spoken meanwhile.
    expect(m.tick()).toEqual([])
    expect(m.counts().live).toBe(1)
    advance(100)
    expect(m.tick()).toEqual([{ id: 'p', addr: 'p:1', from: 'live', to: 'dead' }])
    m.observe('p', 'p:1')
    expect(m.tick()).toEqual([{ id: 'p', addr: 'p:1', from: 'dead', to: 'live' }])
  })

  it('keeps probing a recently live dead peer at least every second', () => {
    const { m, advance } = make(10_000)
    m.observe('p', 'p:1')
    advance(7000)
    m.tick()
    expect(m.counts().dead).toBe(1)
    let probes = 0
    // 60 s of rounds of 100 ms; without the recent cap the back-off would grow to 10 s.
    for (let t = 0; t < 60_000; t += 100) {
      advance(100)
      if (m.gossipTargets(3).includes('p:1')) probes++
    }
    expect(probes).toBeGreaterThanOrEqual(55)
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
