// In-process transport for fast multi-node tests: every message goes through
// the real frame codec (so the wire rules are the same) and is delivered on a
// later macrotask. A shared MemoryNetwork can cut links (partitions), drop or
// duplicate messages with a seeded random source, and hold chosen sequences
// back until released (to deliver one path's messages ahead of another's).

import { encodeFrame, FrameDecoder } from './frame-codec.js'
import { type Message, readMessage } from './messages.js'
import { emptyStats, type MessageHandler, type Transport, type TransportStats } from './transport.js'

/** The simulated network shared by a set of {@link MemoryTransport}s. */
export class MemoryNetwork {
  readonly nodes = new Map<string, MemoryTransport>()
  readonly #cut = new Set<string>()
  /** Probability in [0,1] that a message is dropped / delivered twice. */
  dropRate = 0
  dupRate = 0
  /**
   * Sequences from `from` to `to` (addresses) for which this returns true are
   * held back, in order, until {@link release}; undefined holds nothing.
   */
  holdIf: ((from: string, to: string, msgs: readonly Message[]) => boolean) | undefined
  readonly #held: Array<() => void> = []
  #rand: () => number

  /** `seed` makes drops and duplicates reproducible. */
  constructor(seed = 1) {
    let s = seed >>> 0 || 1
    // xorshift32: small, seeded, good enough for fault injection.
    this.#rand = () => {
      s ^= s << 13
      s >>>= 0
      s ^= s >>> 17
      s ^= s << 5
      s >>>= 0
      return s / 0x100000000
    }
  }

  /** Cuts (both directions) every link between group `a` and group `b` of addresses. */
  partition(a: readonly string[], b: readonly string[]): void {
    for (const x of a) for (const y of b) this.#cut.add(`${x}|${y}`).add(`${y}|${x}`)
  }

  /** Restores every link. */
  heal(): void {
    this.#cut.clear()
  }

  /** Number of sequences held back now. */
  get held(): number {
    return this.#held.length
  }

  /** Stops holding (clears {@link holdIf}) and delivers every held sequence, in the order they were sent. */
  release(): void {
    this.holdIf = undefined
    for (const deliver of this.#held.splice(0)) setTimeout(deliver, 0)
  }

  /** Delivers `deliver` on a later macrotask, or holds it when {@link holdIf} says so. */
  schedule(from: string, to: string, msgs: readonly Message[], deliver: () => void): void {
    if (this.holdIf?.(from, to, msgs)) this.#held.push(deliver)
    else setTimeout(deliver, 0)
  }

  /** Decides the fate of one message from `from` to `to`: how many copies arrive (0, 1 or 2). */
  copies(from: string, to: string): number {
    if (this.#cut.has(`${from}|${to}`)) return 0
    if (this.dropRate > 0 && this.#rand() < this.dropRate) return 0
    if (this.dupRate > 0 && this.#rand() < this.dupRate) return 2
    return 1
  }
}

/** {@link Transport} over a {@link MemoryNetwork}; `addr` is any unique string like `m1:1`. */
export class MemoryTransport implements Transport {
  readonly #net: MemoryNetwork
  readonly #addr: string
  readonly #stats: TransportStats = emptyStats()
  #handler: MessageHandler = () => {}
  #open = false

  constructor(net: MemoryNetwork, addr: string) {
    this.#net = net
    this.#addr = addr
  }

  async listen(): Promise<string> {
    if (this.#net.nodes.has(this.#addr)) throw new Error(`address ${this.#addr} in use`)
    this.#net.nodes.set(this.#addr, this)
    this.#open = true
    return this.#addr
  }

  onMessage(handler: MessageHandler): void {
    this.#handler = handler
  }

  send(addr: string, msg: Message): void {
    this.sendAll(addr, [msg])
  }

  sendAll(addr: string, msgs: readonly Message[]): void {
    if (!this.#open || msgs.length === 0) return
    const frames = msgs.map((m) => encodeFrame(m))
    for (const f of frames) {
      this.#stats.framesOut++
      this.#stats.bytesOut += f.length
    }
    // One fate for the whole sequence, like one TCP connection's stream.
    const n = this.#net.copies(this.#addr, addr)
    if (n === 0) this.#stats.dropped += msgs.length
    for (let i = 0; i < n; i++) {
      this.#net.schedule(this.#addr, addr, msgs, () => {
        const target = this.#net.nodes.get(addr)
        if (!target) return
        for (const f of frames) target.#deliver(f, this.#addr)
      })
    }
  }

  #deliver(frame: Buffer, from: string): void {
    if (!this.#open) return
    const values = new FrameDecoder(Number.MAX_SAFE_INTEGER).push(frame)
    for (const v of values) {
      const msg = readMessage(v)
      if (!msg) {
        this.#stats.badFrames.shape++
        continue
      }
      this.#stats.framesIn++
      this.#stats.bytesIn += frame.length
      this.#handler(msg, from)
    }
  }

  /** No connections, no back-off: nothing to forget. */
  heard(_addr: string): void {}

  /** No connections: nothing to close. */
  drop(_addr: string): void {}

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    if (!this.#open) return
    this.#open = false
    if (this.#net.nodes.get(this.#addr) === this) this.#net.nodes.delete(this.#addr)
  }

  stats(): TransportStats {
    return { ...this.#stats, badFrames: { ...this.#stats.badFrames } }
  }
}
