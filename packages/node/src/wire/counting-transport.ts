// A Transport decorator that counts gossip messages by direction and type
// (PULL, ACK, PUSH…), for the metrics. Bytes stay counted by the transport
// itself (they exist only once a frame is encoded). One array increment per
// message: nothing else is added to the gossip path.

import { type Message, MsgType } from './messages.js'
import type { MessageHandler, Transport, TransportStats } from './transport.js'

/** Lower-case message type names, indexed by their wire number. */
export const MESSAGE_TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(MsgType).map(([name, t]) => [t, name.toLowerCase()]),
)

/** Messages counted by direction, indexed by wire type number (unknown types are not counted). */
export interface MessageCounts {
  readonly in: number[]
  readonly out: number[]
}

/** Wraps `inner`; every method delegates, after counting. */
export class CountingTransport implements Transport {
  readonly #inner: Transport
  readonly counts: MessageCounts = { in: [], out: [] }

  constructor(inner: Transport) {
    this.#inner = inner
    for (const t of Object.values(MsgType)) {
      this.counts.in[t] = 0
      this.counts.out[t] = 0
    }
  }

  listen(): Promise<string> {
    return this.#inner.listen()
  }

  send(addr: string, msg: Message): void {
    this.#count(this.counts.out, msg)
    this.#inner.send(addr, msg)
  }

  sendAll(addr: string, msgs: readonly Message[]): void {
    for (const m of msgs) this.#count(this.counts.out, m)
    this.#inner.sendAll(addr, msgs)
  }

  onMessage(handler: MessageHandler): void {
    this.#inner.onMessage((msg, remote) => {
      this.#count(this.counts.in, msg)
      handler(msg, remote)
    })
  }

  heard(addr: string): void {
    this.#inner.heard(addr)
  }

  drop(addr: string): void {
    this.#inner.drop(addr)
  }

  flush(timeoutMs: number): Promise<void> {
    return this.#inner.flush(timeoutMs)
  }

  close(): Promise<void> {
    return this.#inner.close()
  }

  stats(): TransportStats {
    return this.#inner.stats()
  }

  #count(table: number[], msg: Message): void {
    const n = table[msg.t]
    if (n !== undefined) table[msg.t] = n + 1
  }
}
