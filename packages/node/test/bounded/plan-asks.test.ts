// Whom a node short of rights asks, and for how many (a pure function).

import { describe, expect, it } from 'vitest'
import { planAsks } from '../../src/bounded/bounded-replication.js'
import { nodeIdOf } from '../../src/bounded/replica-ids.js'

const peers = [
  { id: 'a', addr: 'a:1' },
  { id: 'b', addr: 'b:1' },
  { id: 'c', addr: 'c:1' },
]

describe('planAsks', () => {
  it.each([
    ['the richest first, for what it holds, until covered', { a: 2, b: 10 }, 5, [['b:1', 5]]],
    [
      'several holders, then nobody else',
      { a: 2, b: 3 },
      5,
      [
        ['b:1', 3],
        ['a:1', 2],
      ],
    ],
    [
      'known holders short: everyone else for the rest',
      { b: 3 },
      5,
      [
        ['b:1', 3],
        ['a:1', 2],
        ['c:1', 2],
      ],
    ],
    [
      'no holder known: everyone for all of it',
      {},
      4,
      [
        ['a:1', 4],
        ['b:1', 4],
        ['c:1', 4],
      ],
    ],
  ])('%s', (_what, rights, want, expected) => {
    expect(planAsks(peers, new Map(Object.entries(rights)), want)).toEqual(expected)
  })
})

describe('nodeIdOf', () => {
  it.each([
    ['node-1.1', 'node-1'],
    ['a.b.12', 'a.b'],
    ['plain', 'plain'],
    ['x.y', 'x.y'],
  ])('%s → %s', (replica, id) => expect(nodeIdOf(replica)).toBe(id))
})
