/**
 * Starts counting event-loop turns (one `setImmediate` callback per turn,
 * re-armed each time). `stop()` ends the count and returns the turns seen
 * since the start: work that never yields leaves it at 0 or 1, work that
 * gives the loop turns raises it.
 */
export function countTurns(): { stop: () => number } {
  let n = 0
  let running = true
  const tick = (): void => {
    n++
    if (running) setImmediate(tick)
  }
  setImmediate(tick)
  return {
    stop: () => {
      running = false
      return n
    },
  }
}
