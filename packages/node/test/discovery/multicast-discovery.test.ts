import dgram from 'node:dgram'
import { until } from '@tally/kit/testing'
import fc from 'fast-check'
import { pino } from 'pino'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { DiscoveredPeer } from '../../src/discovery/discovery-client.js'
import {
  type Announcement,
  decodeAnnouncement,
  defaultInterface,
  encodeAnnouncement,
  expiredPeers,
  MulticastDiscovery,
} from '../../src/discovery/multicast-discovery.js'

const logger = pino({ level: 'silent' })
const IFACE = '127.0.0.1' // keep every datagram on loopback
const KEY = 'cluster-key-123'
const INTERVAL = 100

/** Sockets holding the ports of the running test (closed after it). */
const holders: dgram.Socket[] = []

/**
 * A UDP port the system picks, held until the test ends: members share their
 * port by design (SO_REUSEADDR), so a socket of the test stays bound to it
 * beside them, and no other process can take it meanwhile.
 */
async function heldUdpPort(): Promise<number> {
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  holders.push(s)
  await new Promise<void>((r) => s.bind(0, r))
  return s.address().port
}

/** True when a datagram sent to a multicast group on loopback comes back to a member. */
async function probeMulticast(group: string): Promise<boolean> {
  const port = await heldUdpPort()
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  try {
    await new Promise<void>((r) => s.bind(port, r))
    s.addMembership(group, IFACE)
    s.setMulticastInterface(IFACE)
    s.setMulticastLoopback(true)
    s.setMulticastTTL(1)
    const got = new Promise<boolean>((r) => {
      s.once('message', () => r(true))
      setTimeout(() => r(false), 1000)
    })
    s.send('probe', port, group)
    return await got
  } catch {
    return false
  } finally {
    s.close()
  }
}

// A per-run group so parallel runs on one host do not hear each other.
const GROUP = `239.255.77.${10 + Math.floor(Math.random() * 200)}`
let multicastWorks = false
beforeAll(async () => {
  multicastWorks = await probeMulticast(GROUP)
})

const started: MulticastDiscovery[] = []
const sockets: dgram.Socket[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((m) => m.stop()))
  for (const s of [...sockets.splice(0), ...holders.splice(0)]) s.close()
})

function member(
  id: string,
  port: number,
  extra: Partial<ConstructorParameters<typeof MulticastDiscovery>[0]> = {},
) {
  const seen: DiscoveredPeer[][] = []
  const n = Number(id.replace(/\D/g, '') || 1)
  const m = new MulticastDiscovery({
    self: { id, addr: `127.0.0.1:${9000 + n}`, http: `http://127.0.0.1:${8010 + n}` },
    heartbeatIntervalMs: INTERVAL,
    logger,
    onPeers: (p) => seen.push(p),
    group: GROUP,
    port,
    interface: IFACE,
    ...extra,
  })
  started.push(m)
  return { m, seen, ids: () => (seen.at(-1) ?? []).map((p) => p.id) }
}

async function rawSender(): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: 'udp4', reuseAddr: true })
  sockets.push(s)
  await new Promise<void>((r) => s.bind(0, IFACE, r))
  s.setMulticastInterface(IFACE)
  s.setMulticastLoopback(true)
  s.setMulticastTTL(1)
  return s
}

function ann(id: string, over: Partial<Announcement> = {}): Announcement {
  return {
    t: 'announce',
    id,
    addr: '127.0.0.1:9100',
    http: 'http://127.0.0.1:8100',
    ts: Date.now(),
    n: 'a'.repeat(16),
    ...over,
  }
}

// Skipped only when this host cannot loop multicast back on 127.0.0.1 (probe above); the pure tests below always run.
describe('MulticastDiscovery on loopback', () => {
  it('members discover each other; a stopped member leaves at once', async ({ skip }) => {
    if (!multicastWorks) skip('multicast loopback unavailable on this host')
    const port = await heldUdpPort()
    // Long expiry so only the 'leave' datagram can explain a prompt removal.
    const a = member('n1', port, { expiryMs: 60_000 })
    const b = member('n2', port)
    const c = member('n3', port)
    a.m.start()
    b.m.start()
    c.m.start()
    await until(() => a.ids().join() === 'n2,n3' && b.ids().join() === 'n1,n3', { what: 'mutual discovery' })
    expect(a.seen.at(-1)![0]).toEqual({ id: 'n2', addr: '127.0.0.1:9002', http: 'http://127.0.0.1:8012' })
    await c.m.stop()
    await until(() => a.ids().join() === 'n2', { what: 'leave processed', timeoutMs: 5000 })
  })

  it('a peer that stops announcing expires', async ({ skip }) => {
    if (!multicastWorks) skip('multicast loopback unavailable on this host')
    const port = await heldUdpPort()
    const a = member('n1', port, { expiryMs: 300 })
    a.m.start()
    const s = await rawSender()
    await until(() => a.m.stats().self > 0, { what: 'joined' })
    s.send(encodeAnnouncement(ann('ghost')), port, GROUP)
    await until(() => a.ids().includes('ghost'), { what: 'ghost seen' })
    await until(() => !a.ids().includes('ghost'), { what: 'ghost expired' })
  })

  it('with a cluster key, strangers, bad tags, stale and garbage are ignored and counted', async ({
    skip,
  }) => {
    if (!multicastWorks) skip('multicast loopback unavailable on this host')
    const port = await heldUdpPort()
    const a = member('n1', port, { clusterKey: KEY })
    a.m.start()
    const s = await rawSender()
    await until(() => a.m.stats().self > 0, { what: 'joined' })
    const bad = [
      encodeAnnouncement(ann('nokey')),
      encodeAnnouncement(ann('otherkey'), 'another-cluster'),
      encodeAnnouncement(ann('old', { ts: Date.now() - 120_000 }), KEY),
      Buffer.from('not json'),
      Buffer.from('{"v":1,"t":"announce","id":"x y"}'),
      Buffer.alloc(4000, 0x7b),
    ]
    for (const b of bad) s.send(b, port, GROUP)
    s.send(encodeAnnouncement(ann('friend'), KEY), port, GROUP)
    await until(() => a.ids().includes('friend'), { what: 'friend accepted' })
    await until(() => a.m.stats().received - a.m.stats().self >= 7, { what: 'all datagrams received' })
    const st = a.m.stats()
    expect(a.ids()).toEqual(['friend'])
    expect(st.rejected['bad-tag']).toBeGreaterThanOrEqual(1)
    expect(st.rejected.malformed).toBeGreaterThanOrEqual(1)
    expect(
      st.rejected['bad-tag'] + st.rejected.stale + st.rejected.malformed + st.rejected['too-large'],
    ).toBe(st.received - st.accepted - st.self)
  })
})

describe('announcement codec (pure)', () => {
  it('round-trips, with and without a key', () => {
    const a = ann('n1')
    expect(decodeAnnouncement(encodeAnnouncement(a), { now: a.ts })).toEqual({ ok: true, msg: a })
    expect(decodeAnnouncement(encodeAnnouncement(a, KEY), { key: KEY, now: a.ts })).toEqual({
      ok: true,
      msg: a,
    })
  })

  it('refuses a missing, wrong or tampered tag', () => {
    const a = ann('n1')
    expect(decodeAnnouncement(encodeAnnouncement(a), { key: KEY, now: a.ts })).toEqual({
      ok: false,
      reason: 'bad-tag',
    })
    expect(decodeAnnouncement(encodeAnnouncement(a, 'other'), { key: KEY, now: a.ts })).toEqual({
      ok: false,
      reason: 'bad-tag',
    })
    const tampered = Buffer.from(
      encodeAnnouncement(a, KEY).toString().replace('127.0.0.1:9100', '10.6.6.6:9100'),
    )
    expect(decodeAnnouncement(tampered, { key: KEY, now: a.ts })).toEqual({ ok: false, reason: 'bad-tag' })
  })

  it('refuses replays outside the skew window when keyed', () => {
    const a = ann('n1', { ts: 1_000_000 })
    const buf = encodeAnnouncement(a, KEY)
    expect(decodeAnnouncement(buf, { key: KEY, now: 1_000_000 + 30_000 }).ok).toBe(true)
    expect(decodeAnnouncement(buf, { key: KEY, now: 1_000_000 + 30_001 })).toEqual({
      ok: false,
      reason: 'stale',
    })
  })

  it('refuses bad shapes', () => {
    for (const over of [
      { id: 'a b' },
      { addr: 'h:0' },
      { addr: 'nohost' },
      { http: 'ftp://x' },
      { n: 'zz' },
    ]) {
      expect(decodeAnnouncement(encodeAnnouncement(ann('n1', over)), { now: 0 }).ok).toBe(false)
    }
    expect(decodeAnnouncement(Buffer.from('[1,2]'), { now: 0 })).toEqual({ ok: false, reason: 'malformed' })
  })

  it('never throws on arbitrary bytes or JSON', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        decodeAnnouncement(Buffer.from(bytes), { key: KEY, now: 0 })
      }),
    )
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        decodeAnnouncement(Buffer.from(JSON.stringify(v) ?? ''), { now: 0 })
      }),
    )
  })

  it('defaultInterface follows the advertised IPv4 host, else leaves it to the OS', () => {
    expect(defaultInterface('127.0.0.1:9000')).toBe('127.0.0.1')
    expect(defaultInterface('192.0.2.7:9000')).toBe('192.0.2.7')
    expect(defaultInterface('0.0.0.0:9000')).toBeUndefined()
    expect(defaultInterface('node-1.local:9000')).toBeUndefined()
    expect(defaultInterface('[::1]:9000')).toBeUndefined()
  })

  it('expiredPeers drops exactly those older than expiry', () => {
    const m = new Map([
      ['a', 1000],
      ['b', 700],
    ])
    expect(expiredPeers(m, 1000, 300)).toEqual([])
    expect(expiredPeers(m, 1001, 300)).toEqual(['b'])
  })
})
