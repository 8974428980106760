// The bounded store's open started before it is needed, so that its disk
// work overlaps the main store's open at start (two LevelDB stores in their
// own folders: neither reads the other). Its outcome is taken later, in the
// order the start needs it: a failure of the main store is still the one a
// start reports.

import type { BoundedRecovered, BoundedStore } from './bounded-store.js'

/** A bounded store's `open()` under way; see {@link openEarly}. */
export interface EarlyOpen {
  /** What `open()` returned, or its rejection (the store's error), once it settles. */
  recovered(): Promise<BoundedRecovered>
  /**
   * Gives the open up (the start failed elsewhere): waits for it to settle
   * and closes the store if it opened. Never rejects (a failed close is
   * dropped: the start reports its own error).
   */
  abandon(): Promise<void>
}

/**
 * Starts `store.open()` now. A rejection is held until {@link
 * EarlyOpen.recovered} is awaited (never an unhandled rejection). Never throws.
 */
export function openEarly(store: BoundedStore): EarlyOpen {
  const opening = store.open()
  const opened = opening.then(
    () => true,
    () => false,
  )
  return {
    recovered: () => opening,
    async abandon() {
      if (await opened) await store.close().catch(() => undefined)
    },
  }
}
