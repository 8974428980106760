import { until } from './until.js'

interface ReplicationMetrics {
  replication: { rounds: number; pullsIn: number }
}

async function replication(url: string): Promise<ReplicationMetrics['replication']> {
  const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5000) })
  if (res.status !== 200) throw new Error(`${url}/stats answered ${res.status}`)
  return ((await res.json()) as ReplicationMetrics).replication
}

/**
 * For tests of running tally-node processes (`urls` are their HTTP base
 * URLs): resolves once every node has run `n` more gossip rounds and answered
 * `n` more digest pulls than when called, read from `GET /stats`. Whatever
 * a node had sent before the call has been processed by then, so a value
 * unchanged afterwards is not merely slow to change. Rejects after `timeoutMs`.
 */
export async function gossipRoundsPass(urls: readonly string[], n = 5, timeoutMs = 20_000): Promise<void> {
  const start = await Promise.all(urls.map(replication))
  await until(
    async () => {
      const now = await Promise.all(urls.map(replication))
      return now.every((r, i) => r.rounds >= start[i]!.rounds + n && r.pullsIn >= start[i]!.pullsIn + n)
    },
    { what: `${n} more gossip rounds on ${urls.join(', ')}`, timeoutMs, intervalMs: 50 },
  )
}
