// How large V8's young generation (the nursery of new objects) may grow.
//
// V8 grows it under allocation pressure, up to two 16 MiB semi-spaces on a
// 64-bit Node 20, and keeps it: a node that has served a million requests
// holds some 32 MiB of young generation (resident, empty after each
// scavenge) on top of its counters, a sixth of its memory at a million
// counters. `small` keeps the young generation at the size it starts with
// (1 MiB semi-spaces; ~2 MiB in all) by turning V8's growth factor down to
// 1 when the node starts: more frequent but smaller scavenges. The size
// flags themselves (`--max-semi-space-size`) take effect only when given at
// launch; the growth factor is read by V8 each time it would grow, so the
// process can set it for itself. A launch that names any young-generation
// flag (`node --max-semi-space-size=… dist/tally-node.js`, or the same in
// NODE_OPTIONS) is the operator's choice and is left as it is.

import { setFlagsFromString } from 'node:v8'

/** Values of `--young-generation`: `small` (fixed at V8's initial size) or `v8` (V8's own growth). */
export const YOUNG_GENERATION_MODES = ['small', 'v8'] as const
export type YoungGeneration = (typeof YOUNG_GENERATION_MODES)[number]

// V8 flags that size or grow the young generation, as Node accepts them (- or _).
const SIZING_FLAG = /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/

/**
 * The V8 flag to set for `mode`, or undefined when none should be: for
 * `v8`, and when the process was launched with a young-generation flag of
 * its own (in `execArgv`, the node options before the script, or in
 * `nodeOptions`, the NODE_OPTIONS variable). Pure.
 */
export function youngGenerationFlag(
  mode: YoungGeneration,
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string | undefined {
  if (mode !== 'small') return undefined
  if (execArgv.some((a) => SIZING_FLAG.test(a)) || SIZING_FLAG.test(nodeOptions ?? '')) return undefined
  return '--semi-space-growth-factor=1'
}

/**
 * Applies {@link youngGenerationFlag} to this process's V8 (from then on:
 * the young generation keeps the size it has). Returns the flag set, or
 * undefined. Never throws.
 */
export function applyYoungGeneration(
  mode: YoungGeneration,
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string | undefined {
  const flag = youngGenerationFlag(mode, execArgv, nodeOptions)
  if (flag !== undefined) setFlagsFromString(flag)
  return flag
}
