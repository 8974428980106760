// Random and mutated RESP thrown at the listener: the node stays healthy,
// no counter changes, nothing is logged at error level.

import type { RespListener } from '@tally/kit/resp'
import { encodeCommand, RawResp } from '@tally/kit/testing'
import fc from 'fast-check'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TallyNode } from '../../src/node.js'
import { createNodeResp } from '../../src/resp/resp-server.js'
import { MemoryNetwork } from '../../src/wire/memory-transport.js'
import { startSim } from '../support/sim.js'

// Seeds hold no write command: any reply may come back, but no counter may change.
const SEEDS = [
  encodeCommand(['GET', 'fz:a']),
  encodeCommand(['MGET', 'fz:a', 'fz:b']),
  encodeCommand(['ECHO', 'hello']),
  encodeCommand(['HELLO', '3']),
  encodeCommand(['SCAN', '0', 'MATCH', 'f*', 'COUNT', '5']),
  encodeCommand(['CLIENT', 'SETNAME', 'x']),
  encodeCommand(['COMMAND', 'DOCS', 'get']),
  'PING\r\n',
  'EXISTS "fz:a" \'b\'\r\n',
]

let node: TallyNode
let resp: RespListener
const errors: string[] = []
beforeAll(async () => {
  node = (await startSim(new MemoryNetwork(), 'fuzz', [])).node
  await node.mutate({ name: 'fz:a', op: 'increment', amount: 5 })
  const logger = pino({ level: 'error' }, { write: (line: string) => errors.push(line) })
  resp = createNodeResp({ node, host: '127.0.0.1', port: 0, logger, partialTimeoutMs: 200 })
  await resp.listen()
})
afterAll(async () => {
  await resp.close()
  await node.stop()
})

const mutated = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'cut', 'dup')), {
      maxLength: 4,
    }),
  )
  .map(([seed, edits]) => {
    let b = Buffer.from(seed, 'latin1')
    for (const [at, byte, kind] of edits) {
      const i = at % Math.max(1, b.length)
      if (kind === 'flip') b[i] = byte
      else if (kind === 'cut') b = b.subarray(0, i)
      else b = Buffer.concat([b.subarray(0, i), b.subarray(i)])
    }
    return b
  })
const input = fc.array(
  fc.oneof(
    mutated,
    fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  ),
  {
    minLength: 1,
    maxLength: 6,
  },
)

describe('fuzz', () => {
  it('random and mutated frames never change a counter or hurt the node', async () => {
    const before = node.map.state()
    await fc.assert(
      fc.asyncProperty(input, async (frames) => {
        const c = await RawResp.open(resp.port)
        for (const f of frames) c.send(f)
        // Half-close: the listener reads everything, answers, then closes its side.
        c.socket.end()
        await c.waitClosed()
        // Whatever came back, a fresh connection is served and nothing changed.
        const probe = await RawResp.open(resp.port)
        expect(await probe.call('GET', 'fz:a')).toBe('5')
        probe.close()
      }),
      { seed: 13013, numRuns: 150 },
    )
    expect(node.map.state()).toEqual(before)
    expect(node.storeFailure).toBeNull()
    expect(errors).toEqual([])
  })
})
