/**
 * @tally/crdt: exact, convergent counters for replicated systems.
 * Zero dependencies, no Node built-ins: runs in Node and browsers.
 */

export { BoundedCounter } from './bounded-counter.js'
export { type GrantPolicy, grantFor, richestReplica, rightsOf } from './bounded-grant.js'
export type { BoundedCounterDelta, BoundedCounterState } from './bounded-state.js'
export { CounterFold } from './counter-fold.js'
export { CounterMap, type FoldAdoption } from './counter-map.js'
export type { CounterMapState, Delta, EntryTuple, RangeTuple, Summary } from './delta.js'
export { readDelta, readSummary } from './delta.js'
export { BoundExceededError, type ErrorCode, ErrorCodes, isTallyError, TallyError } from './errors.js'
export { GCounter, type GCounterState } from './gcounter.js'
export { type PackedColumns, packColumns, readPacked } from './packed-columns.js'
export { PNCounter, type PNCounterState } from './pncounter.js'
export { acknowledges, floorState, raiseFloor } from './reset-gc.js'
export { markedValue, type ResetMark } from './reset-value.js'
export {
  compactResettable,
  ResettableCounter,
  type ResettableCounterDelta,
  type ResettableCounterState,
} from './resettable-counter.js'
export { readColumns, type StateColumns } from './state-columns.js'
export { compareTtl, expired, expiryDue, makeTtl, mergeTtl, readTtl, type Ttl } from './ttl.js'
export {
  assertAmount,
  assertName,
  assertReplicaId,
  isValidName,
  isValidReplicaId,
  MAX_NAME_LENGTH,
  MAX_REPLICA_ID_LENGTH,
  NAME_PATTERN,
} from './validate.js'
export { advanceSummary, MAX_PENDING_RANGES } from './version-vector.js'
export {
  type LimitDecision,
  readWindowedState,
  WindowedCounter,
  type WindowedCounterState,
  windowStartOf,
} from './windowed-counter.js'
