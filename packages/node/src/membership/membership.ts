// Who is in the cluster and how healthy they look. Members come from seeds
// (--peers), discovery and gossip (MEMBERS messages); health comes from the
// pure failure detector fed with the time of the last message from each.
// No I/O here: the replicator asks whom to contact and reports contacts.

import { createHash } from 'node:crypto'
import type { MemberTuple } from '../wire/messages.js'
import { backoffCap, backoffDelay } from './backoff.js'
import { classify, type DetectorConfig, isLateTick, needsProbe, type PeerState } from './failure-detector.js'
import { pickRandom } from './peer-selection.js'

/** A peer as reported by /peers. */
export interface PeerInfo {
  id: string
  addr: string
  http?: string
  state: PeerState
  /** ms since epoch of the last message received from it, or null if never. */
  lastContact: number | null
}

/** A change of a peer's state, as returned by {@link Membership.tick}. */
export interface StateChange {
  id: string
  addr: string
  from: PeerState
  to: PeerState
}

/** A peer learned from discovery or gossip. */
export interface LearnedPeer {
  id: string
  addr: string
  http?: string | undefined
}

interface Member {
  id: string
  addr: string
  http: string
  lastContact: number | null
  /** Reference time for the detector before any contact: when it was learned. */
  since: number
  left: boolean
  state: PeerState
  probes: number
  nextProbeAt: number
}

interface Seed {
  addr: string
  probes: number
  nextProbeAt: number
}

/** Most addresses {@link Membership.forget} remembers as gone. */
export const MAX_FORGOTTEN = 1024

/** Options of {@link Membership}. */
export interface MembershipOptions {
  self: { id: string; addr: string; http: string }
  detector: DetectorConfig
  /** Base and cap of the retry backoff for dead peers and unanswered seeds, ms. */
  probeBaseMs: number
  probeMaxMs: number
  /**
   * A dead peer heard from within `recentMs` (default 10 min) is probed at
   * least every `recentProbeMaxMs` (default max(1 s, 5 × probeBaseMs)), so a
   * partition heals within about that once the link is back.
   */
  recentMs?: number
  recentProbeMaxMs?: number
  now?: () => number
  rand?: () => number
}

/** The member table. Methods are synchronous and never throw on peer data. */
export class Membership {
  readonly self: { id: string; addr: string; http: string }
  readonly #o: MembershipOptions
  readonly #now: () => number
  readonly #rand: () => number
  readonly #members = new Map<string, Member>()
  readonly #seeds = new Map<string, Seed>()
  /** Addresses a discovery source reported gone: second-hand news of them is ignored until they are seeded or heard from again. */
  readonly #forgotten = new Set<string>()
  #digest: string | null = null
  #lastTick: number | null = null
  #changes: StateChange[] = []
  /** Called when a peer changes state (for logs). */
  onChange: (id: string, from: PeerState, to: PeerState) => void = () => {}

  constructor(o: MembershipOptions) {
    this.#o = o
    this.self = o.self
    this.#now = o.now ?? Date.now
    this.#rand = o.rand ?? Math.random
  }

  /** Adds seed addresses (host:port) to probe until a member with that address answers. */
  seed(addrs: readonly string[]): void {
    for (const addr of addrs) {
      this.#forgotten.delete(addr)
      if (addr === this.self.addr || this.#seeds.has(addr)) continue
      this.#seeds.set(addr, { addr, probes: 0, nextProbeAt: 0 })
    }
  }

  /**
   * Forgets addresses a discovery source (DNS) no longer lists: their seeds
   * and the members at those addresses go, and MEMBERS gossip naming them is
   * ignored (so peers that have not noticed yet cannot bring them back) until
   * the address is seeded again or a message arrives from it first-hand. At
   * most {@link MAX_FORGOTTEN} addresses are remembered (oldest dropped).
   */
  forget(addrs: readonly string[]): void {
    for (const addr of addrs) {
      if (addr === this.self.addr) continue
      this.#seeds.delete(addr)
      for (const m of this.#members.values()) {
        if (m.addr !== addr) continue
        this.#members.delete(m.id)
        this.#digest = null
      }
      this.#forgotten.delete(addr)
      this.#forgotten.add(addr)
      if (this.#forgotten.size > MAX_FORGOTTEN) {
        const oldest = this.#forgotten.values().next().value
        if (oldest !== undefined) this.#forgotten.delete(oldest)
      }
    }
  }

  /** Adds peers learned second-hand (discovery, MEMBERS). Refreshes address/http of known ones. */
  learn(peers: readonly LearnedPeer[]): void {
    for (const p of peers) {
      if (p.id === this.self.id || this.#forgotten.has(p.addr)) continue
      const m = this.#members.get(p.id)
      if (!m) {
        const now = this.#now()
        this.#members.set(p.id, {
          id: p.id,
          addr: p.addr,
          http: p.http ?? '',
          lastContact: null,
          since: now,
          left: false,
          state: 'live',
          probes: 0,
          nextProbeAt: 0,
        })
        this.#digest = null
      } else if (m.lastContact === null && (m.addr !== p.addr || (p.http && m.http !== p.http))) {
        // Second-hand news only overrides what we never confirmed first-hand…
        m.addr = p.addr
        if (p.http) m.http = p.http
        this.#digest = null
      } else if (p.http && m.http === '') {
        // …or fills in what we do not know.
        m.http = p.http
        this.#digest = null
      }
    }
  }

  /** Records a message just received from `id` (with its advertised address when the message carries one). */
  observe(id: string, addr?: string, http?: string): void {
    if (id === this.self.id) return
    const now = this.#now()
    let m = this.#members.get(id)
    if (!m) {
      if (addr === undefined) return // unknown sender without an address: wait for its PULL/ACK
      m = {
        id,
        addr,
        http: http ?? '',
        lastContact: now,
        since: now,
        left: false,
        state: 'live',
        probes: 0,
        nextProbeAt: 0,
      }
      this.#members.set(id, m)
      this.#digest = null
    }
    if (addr !== undefined && m.addr !== addr) {
      m.addr = addr
      this.#digest = null
    }
    if (http !== undefined && http !== '' && m.http !== http) {
      m.http = http
      this.#digest = null
    }
    if (addr !== undefined) {
      this.#seeds.delete(addr)
      this.#forgotten.delete(addr)
    }
    m.lastContact = now
    m.left = false
    m.probes = 0
    m.nextProbeAt = 0
    this.#setState(m, 'live')
  }

  /** Marks `id` as having left cleanly: dead until it speaks again. */
  leave(id: string): void {
    const m = this.#members.get(id)
    if (!m) return
    m.left = true
    this.#setState(m, 'dead')
  }

  #setState(m: Member, to: PeerState): void {
    if (m.state === to) return
    const from = m.state
    m.state = to
    if (to === 'dead') m.nextProbeAt = this.#now() + this.#o.probeBaseMs
    this.#changes.push({ id: m.id, addr: m.addr, from, to })
    this.onChange(m.id, from, to)
  }

  /**
   * Re-runs the failure detector over every member. Call once per gossip
   * round. A tick that comes late (this node was stalled) downgrades nobody.
   * Returns every state change since the previous tick (contacts included),
   * oldest first.
   */
  tick(): StateChange[] {
    const now = this.#now()
    const late = isLateTick(this.#lastTick, now, this.#o.detector)
    this.#lastTick = now
    if (!late) {
      for (const m of this.#members.values()) {
        this.#setState(m, classify(m.lastContact ?? m.since, now, m.left, this.#o.detector))
      }
    }
    const out = this.#changes
    this.#changes = []
    return out
  }

  /**
   * Addresses to open an anti-entropy round with: `fanout` random live or
   * suspect members, every live or suspect member silent long enough to be
   * probed directly (see `needsProbe`), plus every dead member and unanswered
   * seed whose retry time has come (their backoff is advanced; short for
   * peers heard from recently). Each address at most once.
   */
  gossipTargets(fanout: number): string[] {
    const now = this.#now()
    const up: Member[] = []
    const out: string[] = []
    const probed = new Set<Member>()
    const recentMs = this.#o.recentMs ?? 600_000
    const recentCap = this.#o.recentProbeMaxMs ?? Math.max(1_000, 5 * this.#o.probeBaseMs)
    for (const m of this.#members.values()) {
      if (m.state !== 'dead') {
        if (needsProbe(m.lastContact ?? m.since, now, this.#o.detector)) {
          probed.add(m)
          out.push(m.addr)
        } else up.push(m)
      } else if (now >= m.nextProbeAt) {
        m.probes++
        const cap = backoffCap(m.lastContact, now, recentMs, recentCap, this.#o.probeMaxMs)
        m.nextProbeAt = now + backoffDelay(m.probes, this.#o.probeBaseMs, cap, this.#rand)
        out.push(m.addr)
      }
    }
    // Probed members count towards the fanout: a round never contacts fewer than `fanout`.
    for (const m of pickRandom(up, Math.max(0, fanout - probed.size), this.#rand)) out.push(m.addr)
    const known = new Set([...this.#members.values()].map((m) => m.addr))
    for (const s of this.#seeds.values()) {
      if (known.has(s.addr)) {
        this.#seeds.delete(s.addr)
        continue
      }
      if (now < s.nextProbeAt) continue
      s.probes++
      s.nextProbeAt = now + backoffDelay(s.probes, this.#o.probeBaseMs, this.#o.probeMaxMs, this.#rand)
      out.push(s.addr)
    }
    return out
  }

  /** Addresses for an eager push: `fanout` random live members (suspect ones if too few live), except `exclude`. */
  pushTargets(fanout: number, exclude?: string): string[] {
    const live: string[] = []
    const suspect: string[] = []
    for (const m of this.#members.values()) {
      if (m.id === exclude) continue
      if (m.state === 'live') live.push(m.addr)
      else if (m.state === 'suspect') suspect.push(m.addr)
    }
    const out = pickRandom(live, fanout, this.#rand)
    if (out.length < fanout) out.push(...pickRandom(suspect, fanout - out.length, this.#rand))
    return out
  }

  /** Addresses of every member not known dead (used for quorum pushes). */
  reachable(): string[] {
    return [...this.#members.values()].filter((m) => m.state !== 'dead').map((m) => m.addr)
  }

  /** Gossip address of member `id`, if known. */
  addrOf(id: string): string | undefined {
    return this.#members.get(id)?.addr
  }

  /** Every member except self, sorted by id. */
  list(): PeerInfo[] {
    return [...this.#members.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((m) => {
        const p: PeerInfo = { id: m.id, addr: m.addr, state: m.state, lastContact: m.lastContact }
        if (m.http) p.http = m.http
        return p
      })
  }

  /** Member counts by state (self excluded). */
  counts(): Record<PeerState, number> {
    const c = { live: 0, suspect: 0, dead: 0 }
    for (const m of this.#members.values()) c[m.state]++
    return c
  }

  /** Known cluster size including self (live, suspect and dead). */
  size(): number {
    return this.#members.size + 1
  }

  /** Members as gossiped in MEMBERS, self included. */
  tuples(): MemberTuple[] {
    const out: MemberTuple[] = [[this.self.id, this.self.addr, this.self.http]]
    for (const m of this.#members.values()) out.push([m.id, m.addr, m.http])
    return out
  }

  /** Short fingerprint of the member set (ids, addresses, HTTP URLs, self included): equal sets, equal digests. */
  digest(): string {
    if (this.#digest === null) {
      const keys = this.tuples()
        .map(([id, addr, http]) => `${id}@${addr}@${http}`)
        .sort()
      this.#digest = createHash('sha1').update(keys.join('\n')).digest('base64').slice(0, 12)
    }
    return this.#digest
  }

  /** Forgets the cached digest (call after changing `self`). */
  invalidate(): void {
    this.#digest = null
  }
}
