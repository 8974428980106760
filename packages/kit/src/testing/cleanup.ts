/**
 * What a test must undo (processes to stop, dirs to remove, servers to close).
 * Register with {@link Cleanup.add}; call {@link Cleanup.run} from `afterEach`
 * or `afterAll`, which runs on failure too. Plain functions, no test runner
 * needed.
 */
export class Cleanup {
  private readonly tasks: Array<() => unknown> = []

  /** Registers `task`; tasks run last-registered first. */
  add(task: () => unknown): void {
    this.tasks.push(task)
  }

  /** Tasks still registered. */
  get size(): number {
    return this.tasks.length
  }

  /**
   * Runs and forgets every task, newest first, each awaited; runs them all
   * even when some throw, then rejects with the first error.
   */
  async run(): Promise<void> {
    let first: unknown
    let failed = false
    for (let task = this.tasks.pop(); task !== undefined; task = this.tasks.pop()) {
      try {
        await task()
      } catch (err) {
        if (!failed) first = err
        failed = true
      }
    }
    if (failed) throw first
  }
}
