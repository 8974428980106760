import type { Server } from 'node:net'

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
