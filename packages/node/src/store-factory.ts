import type { Logger } from 'pino'
import { MemoryStore } from './memory-store.js'
import type { Store } from './store.js'

/** What the daemon's config hands to the store. */
export interface StoreOptions {
  /** Directory holding the write-ahead log, snapshots and identity. */
  dataDir: string
  /** `sync`: acknowledge after fsync. `async`: after the OS has the write. */
  durability: 'sync' | 'async'
  logger: Logger
}

/** Creates the Store the daemon runs on. */
export function createStore(_opts: StoreOptions): Store {
  return new MemoryStore()
}
