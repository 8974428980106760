import type { FrameFault } from './frame-codec.js'
import type { Message } from './messages.js'

/** Counters a transport keeps about itself; exposed on /metrics. */
export interface TransportStats {
  framesIn: number
  framesOut: number
  bytesIn: number
  bytesOut: number
  /**
   * Frames refused, by reason ('shape' = valid msgpack of the wrong form,
   * 'timeout' = handshake, first frame or a frame not complete in time,
   * 'budget' = the shared budget for incomplete inbound frames was exhausted).
   */
  badFrames: Record<FrameFault | 'shape' | 'timeout' | 'budget', number>
  /** Messages not sent: peer unreachable (backing off) or its queue full. */
  dropped: number
  connectFailures: number
  /** Outbound connections closed because their queued bytes stopped draining. */
  writeStalls: number
  /** Outbound connections closed because their peer turned suspect or dead. */
  linksDropped: number
  openConnections: number
  /** Bytes held right now in incomplete inbound frames (all connections). */
  inboundHeldBytes: number
}

/** Called for every valid inbound message; `remote` is the socket peer address, for logs only. */
export type MessageHandler = (msg: Message, remote: string) => void

/**
 * Message transport between nodes, addressed by gossip address `host:port`.
 * Delivery is best effort and unordered across peers (in order per peer for
 * TCP): the replication protocol tolerates loss, duplication and reordering.
 * Implementations: `TcpTransport` (real sockets) and `MemoryTransport` (tests).
 */
export interface Transport {
  /** Starts accepting; resolves with the bound `host:port`. */
  listen(): Promise<string>
  /** Queues `msg` for `addr`; never throws, never blocks. */
  send(addr: string, msg: Message): void
  /**
   * Queues `msgs` for `addr` as one sequence: delivered in order, or dropped
   * as a whole (never with a hole in the middle). Never throws, never blocks.
   * Sending the same array to several peers lets an implementation encode it
   * once: neither the array nor its messages may change once sent.
   */
  sendAll(addr: string, msgs: readonly Message[]): void
  /**
   * The peer at `addr` just sent us a message: it is reachable, so forget
   * any reconnect back-off towards it (a reply must not wait out a back-off
   * earned while the link was down). Cheap; never throws.
   */
  heard(addr: string): void
  /**
   * The peer at `addr` looks down (suspect or dead): close our connection to
   * it now rather than keep writing into a link that may be black-holed. The
   * next send opens a fresh connection (no back-off is added). Never throws.
   */
  drop(addr: string): void
  /** Sets the handler for inbound messages (one handler; a later call replaces it). */
  onMessage(handler: MessageHandler): void
  /** Waits (at most `timeoutMs`) for queued outbound bytes to be written. */
  flush(timeoutMs: number): Promise<void>
  /** Stops accepting and closes every connection. Idempotent. */
  close(): Promise<void>
  stats(): TransportStats
}

/** Fresh zeroed stats. */
export function emptyStats(): TransportStats {
  return {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    badFrames: {
      oversize: 0,
      version: 0,
      auth: 0,
      short: 0,
      msgpack: 0,
      type: 0,
      key: 0,
      depth: 0,
      shape: 0,
      timeout: 0,
      budget: 0,
    },
    dropped: 0,
    connectFailures: 0,
    writeStalls: 0,
    linksDropped: 0,
    openConnections: 0,
    inboundHeldBytes: 0,
  }
}
