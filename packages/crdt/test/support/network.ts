// A seeded, simulated network for multi-replica tests, the one of
// simulation.test.ts made reusable: messages cross a "wire" (a JSON copy),
// and while the network is lossy it drops, duplicates, delays (so reorders)
// and, during the partition window, cuts every message between the two sides.
import { wire } from './canonical.js'

export interface NetworkParams {
  /** Probability that a message is lost (while lossy). */
  drop: number
  /** Probability that a message arrives twice (while lossy). */
  duplicate: number
  /** Extra delay of a message: 0 to maxDelay − 1 ticks (while lossy). */
  maxDelay: number
  /** Ticks [start, end) during which the two sides cannot talk. */
  partition: [start: number, end: number]
  /** The side (0 or 1) of replica i during the partition. */
  side: (i: number) => 0 | 1
}

export interface NetworkStats {
  sent: number
  dropped: number
  duplicated: number
  cut: number
  delivered: number
}

interface InFlight<M> {
  at: number
  from: number
  to: number
  msg: M
}

/** Deterministic for a given `rand`: same seed, same deliveries. */
export class SimNetwork<M> {
  now = 0
  /** While false, every message arrives once, after one tick: the healed network. */
  lossy = true
  readonly stats: NetworkStats = { sent: 0, dropped: 0, duplicated: 0, cut: 0, delivered: 0 }
  #queue: InFlight<M>[] = []
  readonly #rand: () => number
  readonly #p: NetworkParams

  constructor(rand: () => number, params: NetworkParams) {
    this.#rand = rand
    this.#p = params
  }

  /** True while replicas i and j are on opposite sides of an active partition. */
  cutOff(i: number, j: number): boolean {
    const [start, end] = this.#p.partition
    return this.lossy && this.now >= start && this.now < end && this.#p.side(i) !== this.#p.side(j)
  }

  send(from: number, to: number, msg: M): void {
    this.stats.sent++
    if (this.cutOff(from, to)) {
      this.stats.cut++
      return
    }
    if (this.lossy && this.#rand() < this.#p.drop) {
      this.stats.dropped++
      return
    }
    const copies = this.lossy && this.#rand() < this.#p.duplicate ? 2 : 1
    if (copies === 2) this.stats.duplicated++
    for (let c = 0; c < copies; c++) {
      const delay = this.lossy ? Math.floor(this.#rand() * this.#p.maxDelay) : 0
      this.#queue.push({ at: this.now + 1 + delay, from, to, msg: wire(msg) })
    }
  }

  /** Delivers, in random order, every message due by now. */
  deliverDue(receive: (from: number, to: number, msg: M) => void): void {
    const due = this.#queue.filter((f) => f.at <= this.now)
    this.#queue = this.#queue.filter((f) => f.at > this.now)
    for (let i = due.length - 1; i > 0; i--) {
      const j = Math.floor(this.#rand() * (i + 1))
      ;[due[i], due[j]] = [due[j] as InFlight<M>, due[i] as InFlight<M>]
    }
    for (const f of due) {
      this.stats.delivered++
      receive(f.from, f.to, f.msg)
    }
  }

  /** Advances time until nothing is in flight (at most `maxTicks`). */
  drain(receive: (from: number, to: number, msg: M) => void, maxTicks = 10_000): void {
    for (let t = 0; this.#queue.length > 0 && t < maxTicks; t++) {
      this.now++
      this.deliverDue(receive)
    }
  }

  get inFlight(): number {
    return this.#queue.length
  }
}
