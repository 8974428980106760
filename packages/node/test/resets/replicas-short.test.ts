import { describe, expect, it } from 'vitest'
import { replicasShort } from '../../src/resets/replicas-short.js'

describe('replicasShort', () => {
  it.each([
    ['all', 3, 3, [], 0],
    ['quorum', 2, 2, ['n3'], 0],
    ['quorum', 3, 3, ['n4', 'n5'], 0],
  ] as const)('%s needing %d with %d reachable: no refusal', (level, required, reachable, down, unknown) => {
    expect(replicasShort(level, { required, reachable, down, unknown })).toBeNull()
  })

  it('all with a member down: names it and suggests quorum', () => {
    const err = replicasShort('all', { required: 3, reachable: 2, down: ['n3'], unknown: 0 })
    expect(err).toMatchObject({
      code: 'TALLY_QUORUM_UNAVAILABLE',
      details: { required: 3, reachable: 2, down: 'n3' },
    })
    expect(err?.message).toMatch(/down: n3/)
    expect(err?.message).toMatch(/consistency=quorum/)
    expect(err?.message).toMatch(/nothing was changed/)
  })

  it('quorum, or all without a quorum reachable: suggests waiting or one, never quorum', () => {
    const q = replicasShort('quorum', { required: 2, reachable: 1, down: ['n2', 'n3'], unknown: 0 })
    expect(q?.message).toMatch(/down: n2, n3/)
    expect(q?.message).not.toMatch(/consistency=quorum/)
    const a = replicasShort('all', { required: 5, reachable: 2, down: ['d'], unknown: 2 })
    expect(a?.message).toMatch(/2 not known to this node yet/)
    expect(a?.message).toMatch(/consistency one/)
  })
})
