// Run inside the hub namespace by netns-cluster.mjs: serves each given Unix
// socket and pipes every connection to the matching host:port, so a harness
// in the root namespace can reach nodes' HTTP ports. Args: `sock=host:port`…
import { rmSync } from 'node:fs'
import net from 'node:net'

for (const route of process.argv.slice(2)) {
  const eq = route.indexOf('=')
  const sock = route.slice(0, eq)
  const target = route.slice(eq + 1)
  const colon = target.lastIndexOf(':')
  const host = target.slice(0, colon)
  const port = Number(target.slice(colon + 1))
  rmSync(sock, { force: true })
  net
    .createServer((c) => {
      const u = net.connect(port, host)
      c.on('error', () => u.destroy())
      u.on('error', () => c.destroy())
      c.pipe(u).pipe(c)
    })
    .listen(sock)
}
