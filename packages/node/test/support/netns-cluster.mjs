// Real multi-host clusters on one machine: each tally-node in its own network
// namespace with its own IP, all joined by veth pairs to a bridge in a hub
// namespace. Partitions are iptables DROP rules on INPUT inside the node
// namespaces (a black hole: nothing is refused, segments just vanish).
//
// Every namespace is named `tly11<suffix>…` with a random suffix, so parallel
// runs never collide, and removed by stop(). The 10.111.x.0/24 addresses
// exist only inside these namespaces. The harness (root namespace) reaches
// each node's HTTP port through a Unix socket served by one forwarder process
// in the hub namespace (which holds 10.111.x.254 on the bridge): Unix sockets
// cross network namespaces, IP traffic does not leave them.
//
// Plain JavaScript so that both the vitest suite and the benches use it.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const SERVER = fileURLToPath(new URL('../../dist/tally-node.js', import.meta.url))
const FORWARD = fileURLToPath(new URL('./netns-forward.mjs', import.meta.url))
export const GOSSIP_PORT = 9000
export const HTTP_PORT = 8010

function run(cmd, args) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
}

/**
 * Null when this machine can run namespace clusters (root, `ip netns`,
 * iptables usable inside a namespace), else the reason it cannot. Creates
 * and deletes one probe namespace. Synchronous.
 */
export function netnsUnavailable() {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (ip netns, iptables)'
  const probe = `tly11${randomBytes(3).toString('hex')}p`
  try {
    run('ip', ['netns', 'add', probe])
  } catch (err) {
    return `cannot create a network namespace: ${String(err.stderr ?? err.message).trim()}`
  }
  try {
    run('ip', ['netns', 'exec', probe, 'iptables', '-L', 'INPUT', '-n'])
  } catch (err) {
    return `iptables unusable in a namespace: ${String(err.stderr ?? err.message).trim()}`
  } finally {
    try {
      run('ip', ['netns', 'del', probe])
    } catch {}
  }
  return null
}

/**
 * Creates `n` namespaces on a bridge and starts one tally-node in each
 * (`args`: extra flags for every node; `peers` defaults to every other node).
 * Resolves once every node answers /health. The caller must call stop(),
 * also when this rejects (partial setups are torn down by it too).
 */
export async function startNetnsCluster({ n, args = [], log = 'warn' }) {
  const sfx = randomBytes(2).toString('hex')
  const net = 1 + Math.floor(Math.random() * 250)
  const hub = `tly11${sfx}hub`
  const dir = mkdtempSync(join(tmpdir(), `tly11${sfx}-`))
  const nodes = []
  const namespaces = []
  const children = new Set()
  const cluster = {
    sfx,
    nodes,
    /** HTTP request to node i; resolves { status, body } (body parsed JSON or null). */
    request: (i, method, path, body, headers = {}, timeoutMs = 5000) =>
      request(nodes[i].sock, method, path, body, headers, timeoutMs),
    /** Black-holes every link between the two groups of node indices (both directions). */
    cut(a, b) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ])
        for (const i of x)
          for (const j of y)
            run('ip', [
              'netns',
              'exec',
              nodes[i].ns,
              'iptables',
              '-A',
              'INPUT',
              '-s',
              nodes[j].ip,
              '-j',
              'DROP',
            ])
    },
    /** Removes every DROP rule. */
    heal() {
      for (const nd of nodes) run('ip', ['netns', 'exec', nd.ns, 'iptables', '-F', 'INPUT'])
    },
    /** Starts (again) node i, e.g. after kill(i); resolves once it answers /health. */
    start: (i) => startOne(i),
    /** SIGKILLs node i and waits for its exit. */
    async kill(i) {
      const c = nodes[i].child
      if (!c || c.exitCode !== null || c.signalCode !== null) return
      const done = new Promise((r) => c.once('exit', r))
      c.kill('SIGKILL')
      await done
    },
    /** Kills every process by pid, deletes the namespaces and the temp dir. Never throws. */
    async stop() {
      await Promise.all(
        [...children].map(
          (c) =>
            new Promise((r) => {
              if (c.exitCode !== null || c.signalCode !== null) return r()
              c.once('exit', r)
              c.kill('SIGKILL')
            }),
        ),
      )
      for (const ns of namespaces.reverse()) {
        try {
          run('ip', ['netns', 'del', ns])
        } catch {}
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }

  const spawnTracked = (ns, argv, stderr) => {
    const c = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] })
    children.add(c)
    c.once('exit', () => children.delete(c))
    c.stderr.on('data', (d) => {
      if (stderr.length < 50) stderr.push(d.toString())
    })
    return c
  }

  const startOne = async (i) => {
    const nd = nodes[i]
    const peers = nodes.filter((o) => o !== nd).map((o) => `${o.ip}:${GOSSIP_PORT}`)
    nd.stderr = []
    nd.child = spawnTracked(
      nd.ns,
      [
        process.execPath,
        SERVER,
        '--id',
        nd.id,
        '--host',
        nd.ip,
        '--tcp-port',
        String(GOSSIP_PORT),
        '--http-port',
        String(HTTP_PORT),
        '--data-dir',
        join(dir, nd.id),
        '--peers',
        peers.join(','),
        '--log-level',
        log,
        ...args,
      ],
      nd.stderr,
    )
    const end = Date.now() + 30_000
    for (;;) {
      try {
        const r = await request(nd.sock, 'GET', '/health', undefined, {}, 1000)
        if (r.status === 200) return
      } catch {}
      if (nd.child.exitCode !== null) throw new Error(`${nd.id} exited: ${nd.stderr.join('')}`)
      if (Date.now() > end) throw new Error(`${nd.id} not healthy: ${nd.stderr.join('')}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  try {
    run('ip', ['netns', 'add', hub])
    namespaces.push(hub)
    run('ip', ['-n', hub, 'link', 'set', 'lo', 'up'])
    run('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge'])
    run('ip', ['-n', hub, 'addr', 'add', `10.111.${net}.254/24`, 'dev', 'br0'])
    run('ip', ['-n', hub, 'link', 'set', 'br0', 'up'])
    for (let i = 0; i < n; i++) {
      const ns = `tly11${sfx}n${i}`
      run('ip', ['netns', 'add', ns])
      namespaces.push(ns)
      run('ip', ['link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', hub])
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
      run('ip', ['-n', ns, 'addr', 'add', `10.111.${net}.${i + 1}/24`, 'dev', 'eth0'])
      run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up'])
      run('ip', ['-n', hub, 'link', 'set', `p${i}`, 'master', 'br0'])
      run('ip', ['-n', hub, 'link', 'set', `p${i}`, 'up'])
      nodes.push({
        id: `n${i + 1}`,
        ns,
        ip: `10.111.${net}.${i + 1}`,
        sock: join(dir, `n${i}.sock`),
        child: null,
      })
    }
    const fwdErr = []
    const routes = nodes.map((nd) => `${nd.sock}=${nd.ip}:${HTTP_PORT}`)
    spawnTracked(hub, [process.execPath, FORWARD, ...routes], fwdErr)
    await Promise.all(nodes.map((_, i) => startOne(i)))
  } catch (err) {
    await cluster.stop()
    throw err
  }
  return cluster
}

/** One HTTP request over a Unix socket; resolves { status, body }. Rejects on errors and timeouts. */
export function request(sock, method, path, body, headers = {}, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(
      {
        socketPath: sock,
        method,
        path,
        headers: data === undefined ? headers : { 'content-type': 'application/json', ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d) => {
          text += d
        })
        res.on('end', () => {
          let parsed = null
          try {
            parsed = JSON.parse(text)
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: parsed })
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)))
    req.on('error', reject)
    req.end(data)
  })
}
