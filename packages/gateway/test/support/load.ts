import { Pool } from 'undici'

/** What a {@link writeLoadWithKill} run saw. */
export interface LoadResult {
  /** Sum of the amounts the gateway acknowledged (200). */
  expected: number
  /** Requests answered. */
  done: number
  /** `status body` of every non-200 answer. */
  errors: string[]
}

/**
 * Sends `requests` increments of counter `load` to the gateway at `url` over
 * `connections` workers (amounts cycle 1..`maxAmount`), and calls `kill` once
 * `killAfter` answers have come back, with requests still in flight.
 */
export async function writeLoadWithKill(
  url: string,
  opts: {
    requests: number
    connections: number
    maxAmount: number
    killAfter: number
    kill: () => Promise<unknown>
  },
): Promise<LoadResult> {
  const client = new Pool(url, { connections: opts.connections })
  const out: LoadResult = { expected: 0, done: 0, errors: [] }
  let sent = 0
  const worker = async () => {
    while (sent < opts.requests) {
      const amount = (sent++ % opts.maxAmount) + 1
      const res = await client.request({
        method: 'POST',
        path: '/counters/load/increment',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ amount }),
      })
      const text = await res.body.text()
      if (res.statusCode === 200) out.expected += amount
      else out.errors.push(`${res.statusCode} ${text}`)
      out.done++
      if (out.done === opts.killAfter) await opts.kill()
    }
  }
  try {
    await Promise.all(Array.from({ length: opts.connections }, worker))
  } finally {
    await client.close()
  }
  return out
}
