// Network partitions for the chaos checker (scripts/chaos.mjs) on a local
// cluster whose nodes all listen on 127.0.0.1.
//
// Two nodes on one loopback address differ on the wire only by port, and a
// gossip connection's source port is ephemeral, so an address or port rule
// cannot cut node a from node b without cutting it from everyone. What tells
// their packets apart is the process that sends them: each node runs in its
// own cgroup (v2), and iptables' `cgroup` match drops, in the OUTPUT chain on
// `lo`, the packets that node a's sockets send to node b's gossip port and
// those b's sockets send to a's. Both directions of every connection between
// the sides then stall (data and acknowledgements alike), which is what a
// black-holed link looks like; HTTP and RESP (the gateway's, the checker's)
// are not touched.
//
// A socket belongs to the cgroup of the process that created it, so a node
// must start in its cgroup: `adopt` restarts it there (SIGTERM, then the
// same command line). Everything this module adds is removed by `close`:
// its own iptables chain (and the jump to it), and its cgroups (the nodes
// move back to the cgroup they came from).
//
// Needs: root, iptables with the cgroup match, and a cgroup2 mount. Where
// any is missing, `openPartitions` says why and the checker runs without
// partitions. Set TALLY_CHAOS_PARTITIONS=0 to turn them off.
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, openSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** The cgroup2 mount point from /proc/self/mountinfo, or undefined. */
function cgroup2Root() {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [left, right] = line.split(' - ')
      if (right?.startsWith('cgroup2 ')) return left.split(' ')[4]
    }
  } catch {}
  return undefined
}

/** The cgroup2 path (relative, `/…`) of `pid`, or '/' when unknown. */
function cgroupOf(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('0::'))
    return line ? line.slice(3) || '/' : '/'
  } catch {
    return '/'
  }
}

/** Runs iptables (waiting for its lock); throws with its stderr on failure. */
function iptables(args) {
  try {
    execFileSync('iptables', ['-w', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (e) {
    throw new Error(`iptables ${args.join(' ')}: ${String(e.stderr ?? e.message).trim()}`)
  }
}

/**
 * The iptables rules (argument lists for `-A CHAIN`) that cut every node of
 * `a` from every node of `b`: one rule per ordered pair, matching the
 * sender's cgroup and the receiver's gossip port. Pure.
 * @param {{cgroup: string, gossipPort: number}[]} a
 * @param {{cgroup: string, gossipPort: number}[]} b
 */
export function cutRules(a, b) {
  const rules = []
  for (const [from, to] of [
    [a, b],
    [b, a],
  ]) {
    for (const x of from) {
      for (const y of to) {
        rules.push([
          '-p',
          'tcp',
          '-m',
          'cgroup',
          '--path',
          x.cgroup,
          '--dport',
          String(y.gossipPort),
          '-j',
          'DROP',
        ])
      }
    }
  }
  return rules
}

/**
 * Splits `nodes` into two non-empty sides at random (`random` in [0, 1)).
 * @template T
 * @param {T[]} nodes at least 2
 * @param {() => number} random
 * @returns {[T[], T[]]}
 */
export function splitSides(nodes, random) {
  const shuffled = [...nodes]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]]
  }
  const cut = 1 + Math.floor(random() * (shuffled.length - 1))
  return [shuffled.slice(0, cut), shuffled.slice(cut)]
}

/**
 * Opens partition support for run `run` (a short hex id), or explains why
 * there is none: `{ ok: true, … }` or `{ ok: false, reason }`. When ok, the
 * chain is created and hooked into OUTPUT for `lo`, and a probe rule proved
 * the cgroup match works. Every name it creates carries `run` (chain
 * `TALLY-CHAOS-RUN`, cgroup `tally-chaos-RUN`), so concurrent runs on one
 * machine never share one, and a check for leftovers looks for its own run's.
 */
export function openPartitions(run) {
  if (process.env.TALLY_CHAOS_PARTITIONS === '0') return { ok: false, reason: 'TALLY_CHAOS_PARTITIONS=0' }
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { ok: false, reason: 'not root' }
  const root = cgroup2Root()
  if (root === undefined) return { ok: false, reason: 'no cgroup2 mount' }
  const base = `tally-chaos-${run}`
  const chain = `TALLY-CHAOS-${run}`.slice(0, 28)
  try {
    mkdirSync(join(root, base))
  } catch (e) {
    return { ok: false, reason: `cannot create a cgroup under ${root} (${e.code ?? e.message})` }
  }
  try {
    iptables(['-N', chain])
  } catch (e) {
    rmdirSync(join(root, base))
    return { ok: false, reason: `iptables unavailable (${e.message.split('\n')[0]})` }
  }
  try {
    iptables(['-A', chain, '-p', 'tcp', '-m', 'cgroup', '--path', base, '--dport', '9', '-j', 'DROP'])
    iptables(['-F', chain])
    iptables(['-I', 'OUTPUT', '-o', 'lo', '-j', chain])
  } catch (e) {
    try {
      iptables(['-F', chain])
      iptables(['-X', chain])
    } catch {}
    rmdirSync(join(root, base))
    return { ok: false, reason: `iptables has no cgroup match (${e.message.split('\n')[0]})` }
  }
  return { ok: true, ...partitions(root, base, chain) }
}

function partitions(root, base, chain) {
  /** node name → { cgroup (iptables path), dir, from (the cgroup it came from) } */
  const adopted = new Map()
  let cut = false
  return {
    chain,
    /** This run's cgroup (`tally-chaos-RUN`, relative to the cgroup2 root): the nodes' cgroups are under it. */
    cgroup: base,
    /**
     * Spawns `argv` detached, in node `name`'s cgroup from its first
     * instruction, output appended to `logFile`. Returns the child's pid.
     */
    spawnIn(name, argv, logFile, fromPid) {
      let g = adopted.get(name)
      if (g === undefined) {
        const dir = join(root, base, name)
        mkdirSync(dir, { recursive: true })
        g = { cgroup: `${base}/${name}`, dir, from: cgroupOf(fromPid ?? process.pid) }
        adopted.set(name, g)
      }
      const out = openSync(logFile, 'a')
      const child = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', g.dir, ...argv], {
        detached: true,
        stdio: ['ignore', out, out],
      })
      child.unref()
      return child.pid
    },
    /** The cgroup path (for iptables) of an adopted node, or undefined. */
    cgroupOf(name) {
      return adopted.get(name)?.cgroup
    },
    /** Cuts every node of `a` from every node of `b` ({name, gossipPort}). */
    cut(a, b) {
      const side = (xs) => xs.map((x) => ({ cgroup: adopted.get(x.name)?.cgroup, gossipPort: x.gossipPort }))
      const sa = side(a)
      const sb = side(b)
      if ([...sa, ...sb].some((x) => x.cgroup === undefined)) throw new Error('cut: a node was not adopted')
      for (const rule of cutRules(sa, sb)) iptables(['-A', chain, ...rule])
      cut = true
    },
    /** Removes every cut. */
    heal() {
      if (cut) iptables(['-F', chain])
      cut = false
    },
    /** Heals, removes the chain, moves adopted nodes back and removes the cgroups. Never throws. */
    close() {
      const problems = []
      for (const args of [
        ['-F', chain],
        ['-D', 'OUTPUT', '-o', 'lo', '-j', chain],
        ['-X', chain],
      ]) {
        try {
          iptables(args)
        } catch (e) {
          problems.push(e.message)
        }
      }
      for (const g of adopted.values()) {
        try {
          for (const pid of readFileSync(join(g.dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
            try {
              writeFileSync(join(root, g.from, 'cgroup.procs'), `${pid}\n`)
            } catch {
              writeFileSync(join(root, 'cgroup.procs'), `${pid}\n`)
            }
          }
          rmdirSync(g.dir)
        } catch (e) {
          problems.push(`${g.dir}: ${e.code ?? e.message}`)
        }
      }
      try {
        rmdirSync(join(root, base))
      } catch (e) {
        problems.push(`${join(root, base)}: ${e.code ?? e.message}`)
      }
      return problems
    },
  }
}
