// Throws 100k hostile frames at a live tally-node's gossip port: on each
// connection 49 well-framed messages with invalid contents, then one random
// or mutated frame (which makes the node close the connection).
// Needs the built bin: run npm run build.
//
// Safety: generated messages never carry a gossip address (no PULL/ACK/
// MEMBERS/PUSH.a), so nothing the node reads can make it dial anywhere.
import net from 'node:net'
import { join } from 'node:path'
import {
  Cleanup,
  http,
  NODE_BIN,
  type TallyNodeProc as Proc,
  prng,
  requireBuilt,
  startTallyNode,
  tempDir,
  waitHealthy,
} from '@tally/kit/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeFrame } from '../../src/wire/frame-codec.js'
import { MsgType } from '../../src/wire/messages.js'

const FRAMES = 100_000
const PER_CONNECTION = 50
const PARALLEL = 8

let node: Proc
const cleanup = new Cleanup()

beforeAll(async () => {
  requireBuilt(NODE_BIN)
  node = await startTallyNode(cleanup, 'fuzz', join(await tempDir(cleanup, 'tally-node-test-'), 'fuzz'), [
    '--max-frame-bytes',
    '65536',
  ])
  await waitHealthy(node)
})
afterAll(() => cleanup.run())

// `hostile`: well-framed messages with invalid contents (the connection stays
// open, so every one is examined); otherwise random or mutated bytes, which
// end the connection.
function makeFrame(rand: () => number, hostile: boolean): Buffer {
  const int = (n: number) => Math.floor(rand() * n)
  const kind = hostile ? 10 : int(10)
  if (kind < 2) {
    // Random bytes with a plausible length header.
    const body = Buffer.alloc(1 + int(200))
    for (let i = 0; i < body.length; i++) body[i] = int(256)
    const out = Buffer.alloc(4 + body.length)
    out.writeUInt32BE(kind === 0 ? body.length : int(2 ** 32), 0)
    body.copy(out, 4)
    return out
  }
  const junk = [null, true, -1, 1.5, 2 ** 60, 'x', '__proto__', [], {}, [[[[[]]]]], 'fuzz']
  const pick = <T>(xs: T[]): T => xs[int(xs.length)] as T
  const deltas = [
    { ranges: [], entries: [['fuzz', 'r.1', -5, 0, 1]] },
    { ranges: [['r.1', 5, 2]], entries: [] },
    { ranges: [], entries: [['bad name', 'r.1', 1, 0, 1]] },
    { ranges: [], entries: [['fuzz', 'r.1', 1.5, 0, 1]] },
    { ranges: 'no', entries: [] },
    { entries: [[pick(junk), pick(junk), pick(junk), pick(junk), pick(junk)]], ranges: [] },
  ]
  const msgs: unknown[] = [
    { t: MsgType.PUSH, f: 'fz', delta: pick(deltas) },
    { t: MsgType.PUSH, f: 'fz', delta: pick(deltas), q: int(1000) },
    { t: MsgType.PUSH_ACK, f: 'fz', q: int(1000) },
    { t: MsgType.PUSH, f: pick(junk), delta: pick(junk) },
    { t: pick(junk), f: 'fz' },
    { t: MsgType.PUSH, f: 'fz', delta: { ranges: [], entries: [] }, s: pick(junk) },
  ]
  if (hostile) {
    return encodeFrame(
      pick([
        { t: MsgType.PUSH, f: 'fz', delta: pick(deltas) },
        { t: MsgType.PUSH, f: 'fz', delta: pick(deltas), q: int(1000) },
        { t: MsgType.PUSH, f: 'fz', delta: { ranges: [], entries: [] }, s: { [`r${int(9)}`]: pick(junk) } },
        { t: MsgType.PUSH_ACK, f: 'fz', q: int(1000) },
      ]),
    )
  }
  const frame = encodeFrame(pick(msgs))
  // Mutate up to 3 payload bytes; the header stays right so the payload is what gets tested.
  for (let m = int(4); m > 0; m--) frame[4 + int(frame.length - 4)] = int(256)
  if (int(20) === 0) return frame.subarray(0, int(frame.length)) // truncated
  return frame
}

function blast(port: number, frames: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(frames))
    s.on('error', () => resolve())
    s.on('close', () => resolve())
    s.setTimeout(5000, () => s.destroy())
  })
}

describe('fuzzing the gossip port', () => {
  it(`survives ${FRAMES} hostile, random and mutated frames; counters unchanged`, async () => {
    await http(`${node.url}/counters/keep/increment`, 'POST', { amount: 7 })
    const before = (await http(`${node.url}/counters/keep`)).body
    const rand = prng(20261121)
    let sent = 0
    while (sent < FRAMES) {
      const batch: Promise<void>[] = []
      for (let c = 0; c < PARALLEL && sent < FRAMES; c++) {
        const frames: Buffer[] = []
        for (let i = 0; i < PER_CONNECTION && sent < FRAMES; i++, sent++) {
          frames.push(makeFrame(rand, i < PER_CONNECTION - 1))
        }
        batch.push(blast(node.tcp, Buffer.concat(frames)))
      }
      await Promise.all(batch)
    }
    expect(sent).toBe(FRAMES)
    const health = await http(`${node.url}/health`)
    expect(health.status).toBe(200)
    expect((health.body as { status: string }).status).toBe('ok')
    expect((await http(`${node.url}/counters/keep`)).body).toEqual(before)
    expect((await http(`${node.url}/counters/fuzz`)).body).toEqual({ name: 'fuzz', value: 0 })
    const m = (await http(`${node.url}/stats`)).body as {
      transport: { framesIn: number; badFrames: Record<string, number> }
      replication: { deltasInvalid: number }
    }
    const bad = Object.values(m.transport.badFrames).reduce((a, b) => a + b, 0)
    // Nearly every connection ends in a refused frame; nearly every frame is examined.
    expect(bad).toBeGreaterThan(FRAMES / PER_CONNECTION / 2)
    expect(m.transport.framesIn + bad).toBeGreaterThan(FRAMES * 0.95)
    expect(m.replication.deltasInvalid).toBeGreaterThan(FRAMES / 4)
    // The node still takes writes.
    expect((await http(`${node.url}/counters/keep/increment`, 'POST', {})).status).toBe(200)
    console.log(
      `fuzz: ${sent} frames sent; node examined ${m.transport.framesIn} valid + ${bad} refused frames; ${m.replication.deltasInvalid} invalid deltas refused`,
    )
  }, 120_000)
})
