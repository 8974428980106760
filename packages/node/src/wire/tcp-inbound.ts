// The receiving side of a gossip connection: with a cluster key, check the
// dialer's proof of the key (handshake.ts) before reading any frame; then
// decode frames, validate messages, hand them over; close the connection on
// the first bad frame, on a deadline missed, or when the shared budget for
// incomplete frames is exhausted.

import type net from 'node:net'
import type { Logger } from 'pino'
import { FrameDecoder, FrameError } from './frame-codec.js'
import { hello, PROOF_BYTES, verifyProof } from './handshake.js'
import type { InboundBudget } from './inbound-budget.js'
import { readMessage } from './messages.js'
import type { MessageHandler, TransportStats } from './transport.js'

/** What {@link serveInbound} needs from its transport. Durations in ms. */
export interface InboundContext {
  maxFrameBytes: number
  /** Cluster key: the dialer must prove it before any frame is read. */
  key: Buffer | undefined
  /** Close after this long without any byte. */
  idleTimeoutMs: number
  /**
   * Deadline of a frame, from its first byte (drip-fed bytes do not extend
   * it), and of a new connection's handshake and first frame, from accept.
   */
  readTimeoutMs: number
  /** TCP keepalive: first probe after this much idleness. */
  keepAliveMs: number
  /** Shared by every inbound connection: bytes held in incomplete frames. */
  budget: InboundBudget
  /** Counters updated in place. */
  stats: TransportStats
  logger: Logger
  handler: MessageHandler
}

/**
 * Serves one accepted connection until it closes. Valid messages go to
 * `ctx.handler` in order; a bad frame (after the good ones before it in the
 * same read) is counted by reason, logged at warn with the peer address, and
 * closes the connection. Before the handshake completes at most
 * `PROOF_BYTES` are buffered. Never throws.
 */
export function serveInbound(s: net.Socket, ctx: InboundContext): void {
  const remote = `${s.remoteAddress}:${s.remotePort}`
  const dec = new FrameDecoder(ctx.maxFrameBytes, ctx.key)
  let challenge: Buffer | null = ctx.key ? hello() : null
  let proofBytes = Buffer.alloc(0)
  let held = 0
  let readTimer: NodeJS.Timeout | undefined
  s.setNoDelay(true)
  s.setKeepAlive(true, ctx.keepAliveMs)
  s.setTimeout(ctx.idleTimeoutMs)
  s.on('timeout', () => s.destroy())
  s.on('error', () => {})
  const release = (): void => {
    ctx.budget.give(held)
    held = 0
  }
  s.on('close', () => {
    clearTimeout(readTimer)
    release()
  })
  const bad = (fault: keyof TransportStats['badFrames'], message: string): void => {
    ctx.stats.badFrames[fault]++
    ctx.logger.warn({ peer: remote, fault, reason: message }, 'bad frame; closing connection')
    clearTimeout(readTimer)
    release()
    s.destroy()
  }
  // A new connection must prove the key and complete its first frame within
  // readTimeoutMs: dialers connect only when they have something to send.
  readTimer = setTimeout(() => bad('timeout', 'no handshake or first frame in time'), ctx.readTimeoutMs)
  if (challenge) s.write(challenge)
  s.on('data', (data: Buffer) => {
    if (s.destroyed) return
    ctx.stats.bytesIn += data.length
    let chunk = data
    if (challenge && ctx.key) {
      const need = PROOF_BYTES - proofBytes.length
      proofBytes = Buffer.concat([proofBytes, chunk.subarray(0, need)])
      if (proofBytes.length < PROOF_BYTES) return
      if (!verifyProof(ctx.key, challenge, proofBytes)) {
        bad('auth', 'handshake proof does not match the cluster key')
        return
      }
      challenge = null
      chunk = chunk.subarray(need)
      if (chunk.length === 0) return
    }
    let values: unknown[]
    let fault: FrameError | null = null
    try {
      values = dec.push(chunk)
    } catch (err) {
      if (!(err instanceof FrameError)) throw err
      fault = err
      values = err.decoded
    }
    for (const v of values) {
      const msg = readMessage(v)
      if (!msg) {
        bad('shape', 'message of unknown type or wrong shape')
        return
      }
      ctx.stats.framesIn++
      try {
        ctx.handler(msg, remote)
      } catch (err) {
        ctx.logger.error({ err, peer: remote }, 'message handler failed')
      }
    }
    if (fault) {
      bad(fault.fault, fault.message)
      return
    }
    // Bytes of the frame in progress count against the budget shared by every connection.
    const pending = dec.pending
    if (pending > held) {
      if (!ctx.budget.take(pending - held)) {
        bad('budget', `inbound budget of ${ctx.budget.limit} bytes exhausted`)
        return
      }
      held = pending
    } else if (pending < held) {
      ctx.budget.give(held - pending)
      held = pending
    }
    // A frame left incomplete must finish within readTimeoutMs of its first
    // byte (its header counts: reading the header does not restart the clock).
    if (values.length > 0 || !dec.inFrame) {
      clearTimeout(readTimer)
      readTimer = undefined
    }
    if (dec.inFrame && readTimer === undefined) {
      readTimer = setTimeout(() => bad('timeout', 'incomplete frame timed out'), ctx.readTimeoutMs)
    }
  })
}
