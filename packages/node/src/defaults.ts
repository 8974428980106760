// The one place for tally-node's defaults: the settings schema shows them in
// `--help` and applies them to flags left unset, and TallyNode.start applies
// the same values to options an embedder leaves out.

import { DEFAULT_QUORUM_TIMEOUT_MS } from '@tally/kit'
import type { YoungGeneration } from './memory/young-generation.js'

/** Defaults of tally-node. Durations in milliseconds, sizes in bytes. */
export const NODE_DEFAULTS = {
  host: '127.0.0.1',
  tcpPort: 9000,
  httpPort: 8010,
  /** Redis protocol listener; 0 turns it off. */
  respPort: 6380,
  gossipIntervalMs: 200,
  /** Peers contacted per gossip round and per eager push. */
  fanout: 3,
  eagerPush: true,
  /** Lower bound of the cluster size used for quorum writes. */
  clusterSize: 1,
  quorumTimeoutMs: DEFAULT_QUORUM_TIMEOUT_MS,
  /** A bounded-counter decrement short of rights waits this long for peers to grant some. */
  boundedTransferTimeoutMs: 1_000,
  durability: 'sync',
  snapshotIntervalMs: 60_000,
  heartbeatIntervalMs: 1_000,
  /** One day: a client retrying within a day never counts twice. */
  idempotencyTtlMs: 86_400_000,
  idempotencyMaxKeys: 1_000_000,
  /** Most counter entries in one anti-entropy answer; a bigger difference goes as slices the peer asks for one by one. */
  catchUpSliceEntries: 2_048,
  /** A deleted or expired counter every member confirmed is garbage-collected this long after (bounds messages still in flight). */
  gcGraceMs: 60_000,
  maxFrameBytes: 64 * 1024 * 1024,
  /**
   * Bytes of incomplete inbound gossip frames, all connections together. 16 MiB:
   * far above any frame peers send (catch-up slices ~0.1–1.7 MB, older nodes'
   * parts ≤ ~9 MB), and low enough that hostile keyless connections keep a node
   * under 2× its idle RSS (64 MiB measured 2.6–2.7×; README "Hostile connections").
   */
  inboundBudgetBytes: 16 * 1024 * 1024,
  /** HTTP: close a socket silent this long, a request not received in full this long, an idle keep-alive after this long. */
  httpConnectionTimeoutMs: 10_000,
  httpRequestTimeoutMs: 10_000,
  httpKeepAliveTimeoutMs: 10_000,
  /** V8's young generation grows to 8 MiB at most, only while the node is busy (src/memory/young-generation.ts): 24 MiB less resident than V8's own growth under load, less CPU per write than the ~4 MiB a started node has. */
  youngGeneration: 8 as YoungGeneration,
  logLevel: 'info',
} as const
