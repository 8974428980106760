// Reading a LevelDB range while the event loop works on what was read: a
// recovery reads a snapshot's chunks (and a sync node's log) in batches, and
// each `nextv` runs on libuv's thread pool (read, decompress, copy out). Asked
// for only once the previous batch was decoded and merged, the main thread
// sits idle through every read; asked for before, the read of batch k + 1
// overlaps the work on batch k (on another core, where there is one).

/** The part of an abstract-level iterator {@link readAhead} uses. */
export interface BatchIterator<T> {
  nextv(size: number): Promise<T[]>
}

/**
 * The batches of `it.nextv(size)` in order, until an empty one, with the next
 * batch already requested when a batch is handed out: at most one `nextv`
 * is in flight at a time (as iterators require), so the caller may close the
 * iterator once this generator is done. When the caller stops early (a
 * `break`, a throw), the read in flight is waited for (its rejection
 * swallowed: nobody asked for that batch) before the generator returns.
 * Rejects as `nextv` does for a batch that is asked for. Closes nothing.
 */
export async function* readAhead<T>(it: BatchIterator<T>, size: number): AsyncGenerator<T[]> {
  let next: Promise<T[]> | null = it.nextv(size)
  try {
    for (;;) {
      const pending: Promise<T[]> = next
      next = null
      const rows = await pending
      if (rows.length === 0) return
      next = it.nextv(size)
      yield rows
    }
  } finally {
    // Stopped early: let the read in flight finish before the caller closes the iterator.
    if (next)
      await next.then(
        () => {},
        () => {},
      )
  }
}
