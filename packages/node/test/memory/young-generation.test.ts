import { describe, expect, it, vi } from 'vitest'
import {
  BUSY,
  BUSY_LOOKS,
  CAP_CHECK_MS,
  capFor,
  loopUtilization,
  mayGrow,
  newSpaceBytes,
  parseYoungGeneration,
  YoungGenerationCap,
  youngGenerationFlag,
} from '../../src/memory/young-generation.js'

const MiB = 2 ** 20
const GROWTH_1 = '--semi-space-growth-factor=1'
const GROWTH_2 = '--semi-space-growth-factor=2'

describe('youngGenerationFlag (set when the node starts, before it recovers)', () => {
  it.each([
    // mode, execArgv, NODE_OPTIONS, flag set
    ['small', [], undefined, GROWTH_1],
    ['small', ['--expose-gc'], '--enable-source-maps', GROWTH_1],
    // A cap starts with no growth too: recovery must not grow it.
    [8, [], undefined, GROWTH_1],
    [16, ['--expose-gc'], undefined, GROWTH_1],
    ['v8', [], undefined, undefined],
    // The operator's own young-generation flags at launch win, in either spelling and either place.
    ['small', ['--max-semi-space-size=16'], undefined, undefined],
    ['small', ['--max_semi_space_size', '16'], undefined, undefined],
    [8, [], '--min-semi-space-size=4', undefined],
    [8, [], '--expose-gc --semi_space_growth_factor=2', undefined],
  ] as const)('%s, execArgv %j, NODE_OPTIONS %j → %s', (mode, execArgv, nodeOptions, want) => {
    expect(youngGenerationFlag(mode, execArgv, nodeOptions)).toBe(want)
  })
})

describe('parseYoungGeneration', () => {
  it('takes small, v8 and the caps 8, 16 (MiB)', () => {
    expect(parseYoungGeneration('small')).toBe('small')
    expect(parseYoungGeneration('v8')).toBe('v8')
    for (const cap of [8, 16]) expect(parseYoungGeneration(String(cap))).toBe(cap)
  })

  it.each(['1', '2', '4', '32', '08', '8.0', '8 ', 'MiB', 'Small', ''])(
    'refuses %j, naming what it takes',
    (raw) => {
      expect(() => parseYoungGeneration(raw)).toThrow(/must be small, v8 or a cap in MiB \(8\|16\)/)
    },
  )
})

describe('mayGrow', () => {
  it('allows a doubling only while the node is busy and the doubled size stays within the cap', () => {
    expect(BUSY).toBe(0.5)
    expect(mayGrow(4 * MiB, 8 * MiB, 1)).toBe(true)
    expect(mayGrow(4 * MiB, 8 * MiB, 0.5)).toBe(true)
    expect(mayGrow(4 * MiB, 8 * MiB, 0.49)).toBe(false)
    expect(mayGrow(4 * MiB, 8 * MiB, 0)).toBe(false)
    expect(mayGrow(4 * MiB + 1, 8 * MiB, 1)).toBe(false)
    expect(mayGrow(8 * MiB, 8 * MiB, 1)).toBe(false)
    expect(mayGrow(16 * MiB, 8 * MiB, 1)).toBe(false)
    expect(mayGrow(8 * MiB, 16 * MiB, 0.9)).toBe(true)
  })
})

describe('YoungGenerationCap', () => {
  // A young generation and a load that the test sets, and the flags the cap sets.
  function fake(capMiB: number) {
    let size = 4 * MiB
    let load = 1
    const flags: string[] = []
    const cap = new YoungGenerationCap(capMiB, {
      size: () => size,
      utilization: () => load,
      setFlag: (f) => flags.push(f),
    })
    return { cap, flags, grow: (bytes: number) => (size = bytes), busy: (u: number) => (load = u) }
  }

  // n looks in a row.
  const looks = (cap: YoungGenerationCap, n: number) => {
    for (let i = 0; i < n; i++) cap.check()
  }

  it('lets it grow while busy over the last BUSY_LOOKS looks and a doubling fits, stops growth when load falls or once it would not fit', () => {
    const { cap, flags, grow, busy } = fake(8)
    expect(BUSY_LOOKS).toBe(10)
    // Fully busy, but fewer looks than the window: not yet (a start's own work is not load).
    looks(cap, BUSY_LOOKS - 1)
    expect(flags).toEqual([])
    looks(cap, 1)
    expect(flags).toEqual([GROWTH_2])
    looks(cap, 3)
    expect(flags).toEqual([GROWTH_2])
    grow(8 * MiB)
    cap.check()
    expect(flags).toEqual([GROWTH_2, GROWTH_1])
    // V8 shrinks an idle young generation; still busy, it may grow again.
    grow(4 * MiB)
    cap.check()
    expect(flags).toEqual([GROWTH_2, GROWTH_1, GROWTH_2])
    // The load falls: the average of the last ten looks drops below half after six idle ones.
    busy(0)
    looks(cap, 5)
    expect(flags).toEqual([GROWTH_2, GROWTH_1, GROWTH_2])
    looks(cap, 1)
    expect(flags).toEqual([GROWTH_2, GROWTH_1, GROWTH_2, GROWTH_1])
    // Lightly loaded (0.4 of the time) for a whole window: no growth.
    busy(0.4)
    looks(cap, BUSY_LOOKS * 2)
    expect(flags).toEqual([GROWTH_2, GROWTH_1, GROWTH_2, GROWTH_1])
  })

  it('looks every CAP_CHECK_MS once started, and stop() leaves no growth and no timer', () => {
    vi.useFakeTimers()
    try {
      const { cap, flags, grow } = fake(16)
      cap.start()
      expect(vi.getTimerCount()).toBe(1)
      expect(flags).toEqual([])
      vi.advanceTimersByTime(CAP_CHECK_MS * BUSY_LOOKS - 1)
      expect(flags).toEqual([])
      vi.advanceTimersByTime(1)
      expect(flags).toEqual([GROWTH_2])
      grow(16 * MiB)
      vi.advanceTimersByTime(CAP_CHECK_MS)
      expect(flags).toEqual([GROWTH_2, GROWTH_1])
      grow(8 * MiB)
      vi.advanceTimersByTime(CAP_CHECK_MS)
      expect(flags).toEqual([GROWTH_2, GROWTH_1, GROWTH_2])
      cap.start()
      expect(vi.getTimerCount()).toBe(1)
      cap.stop()
      expect(flags).toEqual([GROWTH_2, GROWTH_1, GROWTH_2, GROWTH_1])
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
  })

  it("reads the size V8 reports for its young generation, and the event loop's load between two looks", () => {
    const bytes = newSpaceBytes()
    expect(bytes).toBeGreaterThan(0)
    expect(bytes).toBeLessThanOrEqual(64 * MiB)
    const u = loopUtilization()
    u()
    // A synchronous 30 ms spin: the loop was busy all of the time since the previous look.
    const until = performance.now() + 30
    while (performance.now() < until) {}
    expect(u()).toBeGreaterThan(0.9)
  })
})

describe('capFor', () => {
  it('gives a cap to watch only for a cap mode without a launch flag of its own', () => {
    expect(capFor(8, [], undefined)).toBeInstanceOf(YoungGenerationCap)
    expect(capFor(16, ['--expose-gc'], '--enable-source-maps')).toBeInstanceOf(YoungGenerationCap)
    expect(capFor('small', [], undefined)).toBeNull()
    expect(capFor('v8', [], undefined)).toBeNull()
    expect(capFor(8, ['--max-semi-space-size=4'], undefined)).toBeNull()
    expect(capFor(8, [], '--semi-space-growth-factor=3')).toBeNull()
  })
})
