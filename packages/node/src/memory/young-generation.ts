// How large V8's young generation (the nursery of new objects) may grow.
//
// V8 grows it under allocation pressure, up to two 16 MiB semi-spaces on a
// 64-bit Node 20, and keeps it: a node that has served a million requests
// holds some 32 MiB of young generation (resident, empty after each
// scavenge) on top of its counters, a sixth of its memory at a million
// counters. A small young generation costs CPU instead: it is collected
// more often, and each collection copies what a request still holds.
//
// - `small` keeps it at the size it has when the node starts (about 4 MiB
//   as V8 reports it, grown while the bundle loads) by turning V8's growth
//   factor down to 1 then.
// - A cap in MiB (8, the default, or 16) keeps the growth factor at 1 while
//   the node recovers (recovery allocates heavily and would grow it for
//   nothing) and while it is idle or lightly loaded, and lets V8 grow it,
//   one doubling at a time, while the node is busy (its event loop busy at
//   least half the time over the last half second) and the next doubling
//   stays within the cap ({@link YoungGenerationCap}). Under many concurrent
//   requests a larger young generation costs less CPU per write (node
//   README, "Young generation under load").
// - `v8` leaves V8's own growth alone.
//
// The size flags themselves (`--max-semi-space-size`) take effect only when
// given at launch; the growth factor is read by V8 each time it would grow,
// so the process can set it for itself. A launch that names any
// young-generation flag (`node --max-semi-space-size=… dist/tally-node.js`,
// or the same in NODE_OPTIONS) is the operator's choice and is left as it is.

import { performance } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'
import { InvalidValue, type Parser } from '@tally/kit'

/** The caps `--young-generation` takes, MiB of young generation as V8 reports it (`new_space`). */
export const YOUNG_GENERATION_CAPS = [8, 16] as const

/** Value of `--young-generation`: `small` (kept at the size it has when the node starts), a cap in MiB, or `v8` (V8's own growth). */
export type YoungGeneration = 'small' | 'v8' | (typeof YOUNG_GENERATION_CAPS)[number]

/** Parses `--young-generation`: `small`, `v8`, or one of {@link YOUNG_GENERATION_CAPS}. */
export const parseYoungGeneration: Parser<YoungGeneration> = (raw) => {
  if (raw === 'small' || raw === 'v8') return raw
  const cap = YOUNG_GENERATION_CAPS.find((c) => String(c) === raw)
  if (cap === undefined)
    throw new InvalidValue(
      `must be small, v8 or a cap in MiB (${YOUNG_GENERATION_CAPS.join('|')}), got ${JSON.stringify(raw)}`,
    )
  return cap
}

// V8 flags that size or grow the young generation, as Node accepts them (- or _).
const SIZING_FLAG = /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/

const NO_GROWTH = '--semi-space-growth-factor=1'
const GROWTH = '--semi-space-growth-factor=2'

/** True when the process was launched with a young-generation flag of its own (in `execArgv` or NODE_OPTIONS). Pure. */
export function launchedWithSizing(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return execArgv.some((a) => SIZING_FLAG.test(a)) || SIZING_FLAG.test(nodeOptions ?? '')
}

/**
 * The V8 flag to set when the node starts for `mode`, or undefined when
 * none should be: for `v8`, and when the process was launched with a
 * young-generation flag of its own. `small` and a cap both start with no
 * growth (a cap lets it grow once the node serves: {@link YoungGenerationCap}). Pure.
 */
export function youngGenerationFlag(
  mode: YoungGeneration,
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string | undefined {
  if (mode === 'v8' || launchedWithSizing(execArgv, nodeOptions)) return undefined
  return NO_GROWTH
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

/**
 * Whether V8 may double a young generation of `bytes` under cap `capBytes`
 * while the event loop was busy `utilization` (0–1) of the time lately:
 * only when the node is busy at least {@link BUSY} of the time and the
 * doubled size stays within the cap. Pure.
 */
export function mayGrow(bytes: number, capBytes: number, utilization: number): boolean {
  return utilization >= BUSY && bytes * 2 <= capBytes
}

/** Share of the time the event loop must be busy for the young generation to grow under a cap. */
export const BUSY = 0.5

/** How often the cap looks at the young generation's size and the event loop's load (ms). */
export const CAP_CHECK_MS = 50

/** Looks the load is averaged over ({@link CAP_CHECK_MS} each: half a second): a start's own work right after `listening` is not load. */
export const BUSY_LOOKS = 10

/**
 * Keeps V8's young generation within a cap once the node serves, and lets
 * it grow only while the node is busy: every {@link CAP_CHECK_MS} it reads
 * the young generation's size and the event loop's utilization over the
 * last {@link BUSY_LOOKS} looks (none before that many), and sets V8's
 * growth factor to 2 when {@link mayGrow}, to 1 otherwise (V8 grows it
 * only at a collection that finds enough of it survived, one doubling at a
 * time). A young generation that has grown stays as large until V8 shrinks
 * it (it does so for an idle heap). One timer, unref'd; a look costs a few
 * microseconds.
 */
export class YoungGenerationCap {
  readonly #capBytes: number
  readonly #size: () => number
  readonly #utilization: () => number
  readonly #setFlag: (flag: string) => void
  #timer: NodeJS.Timeout | null = null
  #growing = false
  // The event loop's utilization at each of the last BUSY_LOOKS looks, oldest first.
  readonly #recent: number[] = []

  /**
   * `capMiB` the cap; `size`, `utilization` (event-loop utilization since
   * the previous call, 0–1) and `setFlag` read the young generation's size
   * and the load and set a V8 flag (tests give their own; by default V8's
   * and Node's).
   */
  constructor(
    capMiB: number,
    opts: { size?: () => number; utilization?: () => number; setFlag?: (flag: string) => void } = {},
  ) {
    this.#capBytes = capMiB * 2 ** 20
    this.#size = opts.size ?? newSpaceBytes
    this.#utilization = opts.utilization ?? loopUtilization()
    this.#setFlag = opts.setFlag ?? setFlagsFromString
  }

  /** Starts watching (a second call does nothing). */
  start(): void {
    if (this.#timer) return
    this.#utilization() // the load is measured from now on
    this.#timer = setInterval(() => this.check(), CAP_CHECK_MS)
    this.#timer.unref()
  }

  /** Stops watching and leaves the young generation at the size it has (no more growth). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    if (this.#growing) this.#setFlag(NO_GROWTH)
    this.#growing = false
  }

  /** One look: allows or stops growth for the size the young generation has and the load over the last looks. */
  check(): void {
    const recent = this.#recent
    recent.push(this.#utilization())
    if (recent.length > BUSY_LOOKS) recent.shift()
    let sum = 0
    for (const u of recent) sum += u
    const load = recent.length < BUSY_LOOKS ? 0 : sum / BUSY_LOOKS
    const grow = mayGrow(this.#size(), this.#capBytes, load)
    if (grow === this.#growing) return
    this.#setFlag(grow ? GROWTH : NO_GROWTH)
    this.#growing = grow
  }
}

/** A function giving the event loop's utilization (0–1) since its previous call (the first: since the process started). */
export function loopUtilization(): () => number {
  let last = performance.eventLoopUtilization()
  return () => {
    const now = performance.eventLoopUtilization()
    const u = performance.eventLoopUtilization(now, last).utilization
    last = now
    return u
  }
}

/** Bytes of V8's young generation now (`new_space`, both semi-spaces), or 0 when V8 does not say. */
export function newSpaceBytes(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size
  return 0
}

/**
 * The cap to start once the node serves, for `mode`: null for `small` and
 * `v8`, and when the process was launched with a young-generation flag of
 * its own. Starts nothing.
 */
export function capFor(
  mode: YoungGeneration,
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): YoungGenerationCap | null {
  if (typeof mode !== 'number' || launchedWithSizing(execArgv, nodeOptions)) return null
  return new YoungGenerationCap(mode)
}
