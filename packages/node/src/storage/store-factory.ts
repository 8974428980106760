import type { Logger } from 'pino'
import { LevelStore } from './level-store.js'
import { MemoryStore } from './memory-store.js'
import type { Store } from './store.js'

/** What the daemon's config hands to the store. */
export interface StoreOptions {
  /** Directory holding the write-ahead log, snapshots and identity. */
  dataDir: string
  /** `sync`: acknowledge after fsync. `async`: after the OS has the write. */
  durability: 'sync' | 'async'
  logger: Logger
  /** How long idempotency records are kept (ms, `--idempotency-ttl`). Default 24 h. */
  idempotencyTtl?: number
  /** `needsSnapshot()` turns true after this many logged operations. Default 100 000. */
  snapshotEveryOps?: number
  /** `level` (default): LevelDB in `dataDir`. `memory`: nothing on disk (tests, simulations). */
  kind?: 'level' | 'memory'
}

/**
 * Creates the Store the daemon runs on: the LevelDB write-ahead log in
 * `dataDir` (nothing is touched until `open`), or a MemoryStore when
 * `kind: 'memory'`.
 */
export function createStore(opts: StoreOptions): Store {
  if (opts.kind === 'memory') return new MemoryStore()
  return new LevelStore({
    dataDir: opts.dataDir,
    durability: opts.durability,
    logger: opts.logger,
    ...(opts.idempotencyTtl === undefined ? {} : { idempotencyTtl: opts.idempotencyTtl }),
    ...(opts.snapshotEveryOps === undefined ? {} : { snapshotEveryOps: opts.snapshotEveryOps }),
  })
}
