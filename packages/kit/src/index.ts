/** @tally/kit: what the three Tally servers share. Internal; never published. */
export {
  CONSISTENCY_LEVELS,
  type Consistency,
  DEFAULT_QUORUM_TIMEOUT_MS,
  IDEMPOTENCY_KEY_PATTERN,
  isConsistency,
  isIdempotencyKey,
  requiredReplicas,
} from './rules.js'
