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

/**
 * As {@link writeLoadWithKill}, over RESP: `INCRBY load-resp <amount>` sent
 * by `connections` ioredis clients to the gateway's RESP port.
 */
export async function respLoadWithKill(
  port: number,
  opts: {
    requests: number
    connections: number
    maxAmount: number
    killAfter: number
    kill: () => Promise<unknown>
  },
): Promise<LoadResult> {
  const { Redis } = await import('ioredis')
  const clients = Array.from(
    { length: opts.connections },
    () => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: true }),
  )
  const out: LoadResult = { expected: 0, done: 0, errors: [] }
  let sent = 0
  const worker = async (r: InstanceType<typeof Redis>) => {
    while (sent < opts.requests) {
      const amount = (sent++ % opts.maxAmount) + 1
      try {
        await r.incrby('load-resp', amount)
        out.expected += amount
      } catch (err) {
        out.errors.push((err as Error).message)
      }
      out.done++
      if (out.done === opts.killAfter) await opts.kill()
    }
  }
  try {
    await Promise.all(clients.map(worker))
  } finally {
    for (const c of clients) c.disconnect()
  }
  return out
}
