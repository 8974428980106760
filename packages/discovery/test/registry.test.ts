import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { expire, type PeerEntry, Registry } from '../src/registry.js'

function entry(id: string, lastSeen: number): PeerEntry {
  return { id, addr: '127.0.0.1:9000', http: 'http://127.0.0.1:8010', lastSeen, registeredAt: lastSeen }
}

function fakeClock(start = 1_700_000_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

const reg = (id: string) => ({ id, addr: '127.0.0.1:9000', http: 'http://127.0.0.1:8010' })

describe('expire (pure)', () => {
  it('keeps an entry seen exactly ttl ago and drops one seen ttl+1 ago', () => {
    const t = new Map([
      ['a', entry('a', 1000)],
      ['b', entry('b', 999)],
    ])
    expect(expire(t, 4000, 3000)).toEqual(['b'])
    expect(t.size).toBe(2) // not mutated
  })

  it('drops exactly the entries older than ttl (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 50 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        (seen, now, ttl) => {
          const t = new Map(seen.map((s, i) => [`n${i}`, entry(`n${i}`, s)] as const))
          const gone = new Set(expire(t, now, ttl))
          for (const [id, e] of t) expect(gone.has(id)).toBe(now - e.lastSeen > ttl)
        },
      ),
    )
  })
})

describe('Registry', () => {
  it('registers, lists by id, and expires after ttl without heartbeat', () => {
    const clock = fakeClock()
    const r = new Registry({ ttlMs: 3000, maxEntries: 10, clock })
    expect(r.register(reg('b'))).toBe('created')
    expect(r.register(reg('a'))).toBe('created')
    expect(r.list().map((p) => p.id)).toEqual(['a', 'b'])
    clock.advance(2000)
    expect(r.heartbeat('a')).toBe(true)
    clock.advance(1500)
    // b last seen 3500 ms ago: gone from the list even before a sweep.
    expect(r.list().map((p) => p.id)).toEqual(['a'])
    expect(r.heartbeat('b')).toBe(false)
    expect(r.sweep()).toEqual([])
    clock.advance(3001)
    expect(r.sweep()).toEqual(['a'])
    expect(r.size).toBe(0)
  })

  it('re-registering updates the address and keeps registeredAt while alive', () => {
    const clock = fakeClock()
    const r = new Registry({ ttlMs: 3000, maxEntries: 10, clock })
    r.register(reg('a'))
    clock.advance(1000)
    expect(r.register({ id: 'a', addr: 'h:1', http: 'http://h:2' })).toBe('updated')
    const [p] = r.list()
    expect(p).toMatchObject({ id: 'a', addr: 'h:1', http: 'http://h:2', status: 'alive' })
    expect(p!.lastSeen).toBe(new Date(clock.now()).toISOString())
  })

  it('refuses new ids when full of live entries, but admits them once some expire', () => {
    const clock = fakeClock()
    const r = new Registry({ ttlMs: 1000, maxEntries: 2, clock })
    r.register(reg('a'))
    r.register(reg('b'))
    expect(r.register(reg('c'))).toBe('full')
    expect(r.register(reg('a'))).toBe('updated') // existing ids still refresh
    clock.advance(1001)
    expect(r.register(reg('c'))).toBe('created')
    expect(r.list().map((p) => p.id)).toEqual(['c'])
  })

  it('remove reports whether a live entry was removed', () => {
    const clock = fakeClock()
    const r = new Registry({ ttlMs: 1000, maxEntries: 2, clock })
    r.register(reg('a'))
    expect(r.remove('a')).toBe(true)
    expect(r.remove('a')).toBe(false)
    r.register(reg('b'))
    clock.advance(5000)
    expect(r.remove('b')).toBe(false)
  })

  it('keeps list order right across adds, removals and expiry (cached order)', () => {
    const clock = fakeClock()
    const r = new Registry({ ttlMs: 1000, maxEntries: 100, clock })
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom('reg', 'del', 'hb', 'tick'), fc.constantFrom('a', 'b', 'c', 'd', 'e')),
          { maxLength: 40 },
        ),
        (ops) => {
          const model = new Map<string, number>()
          for (const [op, id] of ops) {
            if (op === 'reg') {
              r.register(reg(id))
              model.set(id, clock.now())
            } else if (op === 'del') {
              r.remove(id)
              model.delete(id)
            } else if (op === 'hb') {
              if (r.heartbeat(id)) model.set(id, clock.now())
            } else clock.advance(400)
            for (const [k, t] of model) if (clock.now() - t > 1000) model.delete(k)
            expect(r.list().map((p) => p.id)).toEqual([...model.keys()].sort())
            expect(r.liveCount()).toBe(model.size)
          }
          for (const k of model.keys()) r.remove(k)
        },
      ),
    )
  })

  it('version changes with membership and addresses, not with heartbeats', () => {
    const clock = fakeClock()
    const r = new Registry({ ttlMs: 1000, maxEntries: 10, clock })
    const v0 = r.version
    r.register(reg('a'))
    const v1 = r.version
    expect(v1).not.toBe(v0)
    r.heartbeat('a')
    r.register(reg('a'))
    expect(r.version).toBe(v1)
    r.register({ ...reg('a'), addr: 'h:2' })
    const v2 = r.version
    expect(v2).not.toBe(v1)
    r.remove('a')
    expect(r.version).not.toBe(v2)
    const v3 = r.version
    r.register(reg('b'))
    clock.advance(1001)
    const v4 = r.version
    r.sweep()
    expect(r.version).not.toBe(v4)
    expect(v4).not.toBe(v3)
    // Another registry (a restart) never reuses a version.
    expect(new Registry({ ttlMs: 1, maxEntries: 1 }).version).not.toBe(v0)
  })

  it('rejects nonsense options', () => {
    expect(() => new Registry({ ttlMs: 0, maxEntries: 1 })).toThrow(RangeError)
    expect(() => new Registry({ ttlMs: 1, maxEntries: 0 })).toThrow(RangeError)
  })
})
