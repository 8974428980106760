// How long recovery and snapshot work may hold the event loop before it
// gives other work (timers, I/O, requests) a turn: well below the 50 ms a
// request may wait on a busy node, and long enough that the turns
// themselves cost nothing measurable.

/** Work done between two event-loop turns by long recovery loops, ms. */
export const TURN_BUDGET_MS = 8

/** Resolves after one turn of the event loop (a `setImmediate`: I/O and timers run first). Never rejects. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** What {@link turnClock} makes. */
export interface TurnClock {
  due: () => boolean
  turn: () => Promise<void>
}

/**
 * A clock of work since the last turn: `due()` is true once TURN_BUDGET_MS
 * passed since it was made or since the last `turn()`, which awaits
 * {@link nextTurn} and restarts the clock.
 */
export function turnClock(): TurnClock {
  let t0 = performance.now()
  return {
    due: () => performance.now() - t0 >= TURN_BUDGET_MS,
    turn: async () => {
      await nextTurn()
      t0 = performance.now()
    },
  }
}
