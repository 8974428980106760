// StoreError: what the durable store throws. A NodeError, so the edges treat
// it like every other domain error; its codes are listed in the README's
// "Store error codes" (TALLY_STORE_FAILED is shared with the node's own).

import { NodeError } from '../errors.js'

/** Stable codes of the errors the durable store raises (they never change within a major version; messages may). */
export const StoreErrorCodes = {
  /** Another process (or another open store in this one) holds the data dir. */
  DATA_DIR_LOCKED: 'TALLY_DATA_DIR_LOCKED',
  /** The data dir could not be created or opened (permissions, not a LevelDB, I/O error). */
  DATA_DIR_UNREADABLE: 'TALLY_DATA_DIR_UNREADABLE',
  /** The data dir holds another node id's identity. */
  DATA_DIR_MISMATCH: 'TALLY_DATA_DIR_MISMATCH',
  /** The log or the snapshot is damaged somewhere recovery must not guess past. */
  WAL_CORRUPT: 'TALLY_WAL_CORRUPT',
  /** A write to the log failed; the store refuses further writes (nothing after it could be trusted). */
  STORE_FAILED: 'TALLY_STORE_FAILED',
  /** The store is not open (never opened, or closed). */
  STORE_CLOSED: 'TALLY_STORE_CLOSED',
} as const

/** One of {@link StoreErrorCodes}. */
export type StoreErrorCode = (typeof StoreErrorCodes)[keyof typeof StoreErrorCodes]

/** An error of the durable store, with a stable `code` and, when relevant, the data dir `path`. */
export class StoreError extends NodeError<StoreErrorCode> {
  readonly path: string | undefined

  constructor(code: StoreErrorCode, message: string, opts: { path?: string; cause?: unknown } = {}) {
    super(code, message, opts.cause === undefined ? {} : { cause: opts.cause })
    this.name = 'StoreError'
    this.path = opts.path
  }
}

/** True when `err` is a {@link StoreError} (optionally with the given code). Never throws. */
export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code)
}
