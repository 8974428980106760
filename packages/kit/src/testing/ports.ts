import { createServer, type Server } from 'node:net'

/**
 * Binds `server` to `host`:0 (the OS picks a free port, no race) and resolves
 * with the bound port. Works with any `net.Server` (http servers included).
 */
export function listenOnFreePort(server: Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => {
      server.off('error', reject)
      const addr = server.address()
      if (typeof addr !== 'object' || addr === null) return reject(new Error('server has no TCP address'))
      resolve(addr.port)
    })
  })
}

/** True for an error (or a message) that says the address was already in use. */
export function isAddrInUse(err: unknown): boolean {
  if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EADDRINUSE')
    return true
  return /EADDRINUSE/.test(err instanceof Error ? err.message : String(err))
}

/**
 * For the few starts that need port numbers before the process runs (peers
 * that must know each other's address, a restart on the same port): picks
 * `count` ports the OS reports free, calls `start(ports)`, and when `start`
 * fails because one was taken meanwhile ({@link isAddrInUse}), picks new ones
 * and tries again, up to `attempts` times. `start` must undo its own partial
 * start before it rethrows. Any other error is rethrown at once.
 */
export async function withFreePorts<T>(
  count: number,
  start: (ports: number[]) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let i = 1; ; i++) {
    const ports = await pickFreePorts(count)
    try {
      return await start(ports)
    } catch (err) {
      if (!isAddrInUse(err) || i >= attempts) throw err
    }
  }
}

/**
 * `count` distinct ports free on 127.0.0.1 at the time of the call (all held
 * at once, then released). Another process may take one before it is used:
 * only for {@link withFreePorts}, which retries.
 */
async function pickFreePorts(count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    const ports: number[] = []
    for (let i = 0; i < count; i++) {
      const s = createServer()
      servers.push(s)
      ports.push(await listenOnFreePort(s))
    }
    return ports
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  }
}
