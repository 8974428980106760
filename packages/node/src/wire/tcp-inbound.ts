// The receiving side of a gossip connection: decode frames, validate
// messages, hand them over; close the connection on the first bad frame.

import type net from 'node:net'
import type { Logger } from 'pino'
import { FrameDecoder, FrameError } from './frame-codec.js'
import { readMessage } from './messages.js'
import type { MessageHandler, TransportStats } from './transport.js'

/** What {@link serveInbound} needs from its transport. Durations in ms. */
export interface InboundContext {
  maxFrameBytes: number
  key: Buffer | undefined
  /** Close after this long without any byte. */
  idleTimeoutMs: number
  /** Close when a frame stays incomplete this long (slow-loris guard). */
  readTimeoutMs: number
  /** Counters updated in place. */
  stats: TransportStats
  logger: Logger
  handler: MessageHandler
}

/**
 * Serves one accepted connection until it closes. Valid messages go to
 * `ctx.handler` in order; a bad frame (after the good ones before it in the
 * same read) is counted by reason, logged at warn with the peer address, and
 * closes the connection. Never throws.
 */
export function serveInbound(s: net.Socket, ctx: InboundContext): void {
  const remote = `${s.remoteAddress}:${s.remotePort}`
  const dec = new FrameDecoder(ctx.maxFrameBytes, ctx.key)
  let readTimer: NodeJS.Timeout | undefined
  s.setNoDelay(true)
  s.setTimeout(ctx.idleTimeoutMs)
  s.on('timeout', () => s.destroy())
  s.on('error', () => {})
  s.on('close', () => clearTimeout(readTimer))
  const bad = (fault: keyof TransportStats['badFrames'], message: string): void => {
    ctx.stats.badFrames[fault]++
    ctx.logger.warn({ peer: remote, fault, reason: message }, 'bad frame; closing connection')
    clearTimeout(readTimer)
    s.destroy()
  }
  s.on('data', (chunk: Buffer) => {
    if (s.destroyed) return
    ctx.stats.bytesIn += chunk.length
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
    // A frame left incomplete must finish within readTimeoutMs.
    if (values.length > 0 || dec.pending === 0) {
      clearTimeout(readTimer)
      readTimer = undefined
    }
    if (dec.pending > 0 && readTimer === undefined) {
      readTimer = setTimeout(() => bad('timeout', 'incomplete frame timed out'), ctx.readTimeoutMs)
    }
  })
}
