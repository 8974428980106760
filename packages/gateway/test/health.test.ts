import { describe, expect, it } from 'vitest'
import {
  type HealthPolicy,
  type HealthState,
  INITIAL_HEALTH,
  isUsable,
  onFailure,
  onSuccess,
  policyFor,
  shouldProbe,
} from '../src/health.js'

const policy: HealthPolicy = { baseEjectionMs: 100, maxEjectionMs: 1000 }

type Step = [at: number, event: 'ok' | 'fail', health: HealthState['health'], probeAt: number]

// Each table is a sequence of events on one node with a fake clock.
const tables: Array<[string, Step[]]> = [
  ['unknown → healthy on first success', [[10, 'ok', 'healthy', 0]]],
  ['unknown → ejected on first failure', [[10, 'fail', 'ejected', 110]]],
  [
    'ejection back-off doubles and is capped',
    [
      [0, 'ok', 'healthy', 0],
      [1000, 'fail', 'ejected', 1100],
      [1100, 'fail', 'ejected', 1300],
      [1300, 'fail', 'ejected', 1700],
      [1700, 'fail', 'ejected', 2500],
      [2500, 'fail', 'ejected', 3500],
      [3500, 'fail', 'ejected', 4500],
    ],
  ],
  [
    'a success resets the back-off',
    [
      [0, 'fail', 'ejected', 100],
      [100, 'fail', 'ejected', 300],
      [300, 'ok', 'healthy', 0],
      [400, 'fail', 'ejected', 500],
    ],
  ],
]

describe('health state machine', () => {
  it.each(tables)('%s', (_name, steps) => {
    let s = INITIAL_HEALTH
    for (const [at, ev, health, probeAt] of steps) {
      s = ev === 'ok' ? onSuccess(s, at) : onFailure(s, at, policy, 'boom')
      expect(s.health).toBe(health)
      expect(s.probeAt).toBe(probeAt)
      expect(s.lastCheck).toBe(at)
      expect(s.lastError).toBe(ev === 'fail' ? 'boom' : undefined)
    }
  })

  it('usability and probing follow the state and the clock', () => {
    expect(isUsable(INITIAL_HEALTH)).toBe(true)
    expect(shouldProbe(INITIAL_HEALTH, 0)).toBe(true)
    const ok = onSuccess(INITIAL_HEALTH, 5)
    expect(isUsable(ok)).toBe(true)
    expect(shouldProbe(ok, 6)).toBe(true)
    const ej = onFailure(ok, 10, policy, 'x')
    expect(isUsable(ej)).toBe(false)
    expect(shouldProbe(ej, 109)).toBe(false)
    expect(shouldProbe(ej, 110)).toBe(true)
  })

  it('back-off never overflows after very many failures', () => {
    let s = INITIAL_HEALTH
    for (let i = 0; i < 2000; i++) s = onFailure(s, i, policy, 'x')
    expect(s.probeAt).toBe(1999 + 1000)
  })

  it('policyFor: first probe after one interval, at most 30 intervals or 30 s', () => {
    expect(policyFor(1000)).toEqual({ baseEjectionMs: 1000, maxEjectionMs: 30_000 })
    expect(policyFor(100)).toEqual({ baseEjectionMs: 100, maxEjectionMs: 3000 })
    expect(policyFor(60_000)).toEqual({ baseEjectionMs: 60_000, maxEjectionMs: 60_000 })
  })
})
