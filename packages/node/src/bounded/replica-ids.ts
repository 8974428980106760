// Replica ids of the daemon are `${nodeId}.${incarnation}` (storage/store.ts,
// replicaIdOf): which node holds a replica's rights is read off its id.

/**
 * The node id of daemon replica id `replica` (the part before the last dot),
 * or the id itself when it has no incarnation suffix. Pure; never throws.
 */
export function nodeIdOf(replica: string): string {
  const dot = replica.lastIndexOf('.')
  if (dot <= 0) return replica
  return /^\d+$/.test(replica.slice(dot + 1)) ? replica.slice(0, dot) : replica
}
