import { describe, expect, it } from 'vitest'
import { youngGenerationFlag } from '../../src/memory/young-generation.js'

describe('youngGenerationFlag', () => {
  const GROWTH_1 = '--semi-space-growth-factor=1'
  it.each([
    // mode, execArgv, NODE_OPTIONS, flag set
    ['small', [], undefined, GROWTH_1],
    ['small', ['--expose-gc'], '--enable-source-maps', GROWTH_1],
    ['v8', [], undefined, undefined],
    // The operator's own young-generation flags at launch win, in either spelling and either place.
    ['small', ['--max-semi-space-size=16'], undefined, undefined],
    ['small', ['--max_semi_space_size', '16'], undefined, undefined],
    ['small', [], '--min-semi-space-size=4', undefined],
    ['small', [], '--expose-gc --semi_space_growth_factor=2', undefined],
  ] as const)('%s, execArgv %j, NODE_OPTIONS %j → %s', (mode, execArgv, nodeOptions, want) => {
    expect(youngGenerationFlag(mode, execArgv, nodeOptions)).toBe(want)
  })
})
