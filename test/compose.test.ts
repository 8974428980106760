// docker-compose.yml and run-cluster.sh start the bins with the flags and
// TALLY_* variables of the components' config schemas (SETTINGS and
// parseConfig from packages/<pkg>/src/config.ts), and their names, ports,
// peers, URLs and volumes line up. No Docker engine needed: the compose file
// is parsed, and run-cluster.sh runs in dry-run mode (prints, starts nothing).

import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import {
  allSettingEnvs,
  COMPONENTS,
  flagsOf,
  type Invocation,
  invocationOf,
  ROOT,
} from './support/components.ts'

const run = promisify(execFile)

interface Service {
  command?: unknown
  environment?: unknown
  ports?: unknown
  volumes?: unknown
  networks?: unknown
  depends_on?: unknown
  healthcheck?: { test?: unknown }
  image?: unknown
  build?: unknown
}
interface ComposeFile {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
  networks?: Record<string, unknown>
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as ComposeFile
const services = compose.services
const nodeNames = Object.keys(services).filter((s) => /^node\d+$/.test(s))

function commandOf(name: string): Invocation {
  const cmd = services[name]?.command
  if (!Array.isArray(cmd) || !cmd.every((x) => typeof x === 'string')) {
    throw new Error(
      `service ${name}: command must be a list of strings (exec form), got ${JSON.stringify(cmd)}`,
    )
  }
  return invocationOf(cmd)
}

function envOf(name: string): Record<string, string> {
  const env = services[name]?.environment ?? {}
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((e: string) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
    )
  }
  return Object.fromEntries(Object.entries(env as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
}

function flag(name: string, f: string): string {
  const v = flagsOf(commandOf(name).args).get(f)
  if (v === undefined) throw new Error(`service ${name} has no --${f}`)
  return v
}

describe('docker-compose.yml', () => {
  it('defines discovery, five nodes and the gateway, each running its bin', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['discovery', 'gateway', 'node1', 'node2', 'node3', 'node4', 'node5'].sort(),
    )
    expect(commandOf('discovery').pkg).toBe('discovery')
    expect(commandOf('gateway').pkg).toBe('gateway')
    for (const n of nodeNames) expect(commandOf(n).pkg, n).toBe('node')
  })

  it('passes only flags and TALLY_* variables the components define, and each config parses', () => {
    for (const name of Object.keys(services)) {
      const { pkg, args } = commandOf(name)
      const component = COMPONENTS[pkg]
      const flags = new Set(component.settings.map((s) => s.flag))
      const envs = new Set(component.settings.map((s) => s.env))
      for (const f of flagsOf(args).keys())
        expect(flags.has(f), `${name}: --${f} is not a ${pkg} setting`).toBe(true)
      const env = envOf(name)
      for (const k of Object.keys(env)) {
        if (k.startsWith('TALLY_')) expect(envs.has(k), `${name}: ${k} is not a ${pkg} setting`).toBe(true)
      }
      expect(() => component.parse(args, env), `${name}: its config is refused`).not.toThrow()
    }
  })

  it('runs bins that exist in the image (package bin entries and the Dockerfile copies)', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    for (const pkg of ['crdt', 'kit', 'node', 'discovery', 'gateway']) {
      expect(dockerfile, `Dockerfile copies packages/${pkg}/dist`).toContain(`/app/packages/${pkg}/dist`)
    }
    for (const name of Object.keys(services)) {
      const { pkg } = commandOf(name)
      const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as {
        bin?: Record<string, string>
      }
      // The bin entry is a committed launcher that runs the file compose runs.
      const targets = Object.values(manifest.bin ?? {})
      expect(targets, `${pkg} declares its bin`).toHaveLength(1)
      for (const target of targets) {
        const launcher = readFileSync(join(ROOT, 'packages', pkg, target), 'utf8')
        expect(launcher, `${pkg}: ${target} runs dist/tally-${pkg}.js`).toContain(`'../dist/tally-${pkg}.js'`)
        expect(dockerfile, `Dockerfile copies packages/${pkg}/bin`).toContain(`/app/packages/${pkg}/bin`)
      }
      expect(services[name]?.image, `${name} runs the image built from the Dockerfile`).toBe('tally:local')
    }
    expect(Object.values(services).some((s) => s.build !== undefined)).toBe(true)
  })

  it('gives each node a unique id, gossip port and HTTP port, and advertises its service name', () => {
    const ids = nodeNames.map((n) => flag(n, 'id'))
    const tcp = nodeNames.map((n) => flag(n, 'tcp-port'))
    const http = nodeNames.map((n) => flag(n, 'http-port'))
    expect(new Set(ids).size).toBe(nodeNames.length)
    expect(new Set(tcp).size).toBe(nodeNames.length)
    expect(new Set(http).size).toBe(nodeNames.length)
    expect(new Set([...tcp, ...http]).size).toBe(2 * nodeNames.length)
    for (const n of nodeNames) {
      expect(flag(n, 'advertise')).toBe(n)
      expect(flag(n, 'host')).toBe('0.0.0.0')
      expect(flag(n, 'cluster-size'), `${n}: quorum counts every node`).toBe(String(nodeNames.length))
    }
  })

  it("seeds every node with all the other nodes' gossip addresses", () => {
    for (const n of nodeNames) {
      const peers = flag(n, 'peers').split(',')
      const expected = nodeNames.filter((m) => m !== n).map((m) => `${m}:${flag(m, 'tcp-port')}`)
      expect(peers.sort(), n).toEqual(expected.sort())
    }
  })

  it("points nodes and gateway at the discovery service's port", () => {
    const url = `http://discovery:${flag('discovery', 'port')}`
    for (const name of [...nodeNames, 'gateway']) {
      expect(flag(name, 'discovery'), name).toBe(url)
      const deps = services[name]?.depends_on
      const depNames = Array.isArray(deps) ? deps : Object.keys((deps ?? {}) as object)
      expect(depNames, `${name} depends on discovery`).toContain('discovery')
    }
  })

  it("keeps each node's data in its own declared named volume", () => {
    const declared = Object.keys(compose.volumes ?? {})
    const used: string[] = []
    for (const n of nodeNames) {
      const vols = (services[n]?.volumes ?? []) as string[]
      const dataDir = flag(n, 'data-dir')
      const mount = vols
        .map((v) => v.split(':'))
        .find(([, target]) => target !== undefined && dataDir.startsWith(target))
      expect(mount, `${n}: --data-dir ${dataDir} is on a volume`).toBeDefined()
      const source = mount?.[0] as string
      expect(declared, `${n}: volume ${source} is declared`).toContain(source)
      used.push(source)
    }
    expect(new Set(used).size).toBe(nodeNames.length)
  })

  it('puts every service on one declared network and publishes the ports it listens on', () => {
    const networks = Object.keys(compose.networks ?? {})
    expect(networks).toHaveLength(1)
    const published: string[] = []
    for (const name of Object.keys(services)) {
      expect(services[name]?.networks, name).toEqual(networks)
      const { pkg } = commandOf(name)
      const listen = pkg === 'node' ? flag(name, 'http-port') : flag(name, 'port')
      const ports = (services[name]?.ports ?? []) as string[]
      // HTTP first; nodes and the gateway also publish their RESP (Redis protocol) port.
      const resp = pkg === 'discovery' ? undefined : flag(name, 'resp-port')
      expect(ports.length, `${name} publishes its HTTP (and RESP) port`).toBe(resp === undefined ? 1 : 2)
      const [host, container] = (ports[0] as string).split(':')
      expect(container, name).toBe(listen)
      published.push(host as string)
      if (resp !== undefined) {
        const [rhost, rcontainer] = (ports[1] as string).split(':')
        expect(rcontainer, `${name} RESP`).toBe(resp)
        published.push(rhost as string)
      }
      const probe = JSON.stringify(services[name]?.healthcheck?.test ?? '')
      expect(probe, `${name}: healthcheck probes its own port`).toContain(`127.0.0.1:${listen}/health`)
    }
    expect(new Set(published).size).toBe(published.length)
    expect(services.gateway?.ports).toEqual(['8080:8080', '6379:6379'])
    expect(flag('discovery', 'port')).toBe('8000')
  })
})

describe('run-cluster.sh (dry run)', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'tally-dry-'))
  afterAll(() => rmSync(runDir, { recursive: true, force: true }))
  const env = {
    ...process.env,
    TALLY_RUN_DIR: runDir,
    TALLY_DRY_RUN: '1',
    TALLY_DISCOVERY_PORT: '18000',
    TALLY_GOSSIP_BASE_PORT: '19000',
    TALLY_HTTP_BASE_PORT: '18010',
    TALLY_GATEWAY_PORT: '18080',
    TALLY_RESP_BASE_PORT: '16380',
    TALLY_GATEWAY_RESP_PORT: '16379',
  }

  async function dryRun(...args: string[]): Promise<Map<string, Invocation>> {
    const { stdout } = await run('bash', [join(ROOT, 'run-cluster.sh'), ...args], { env, timeout: 20_000 })
    const out = new Map<string, Invocation>()
    for (const line of stdout.split('\n')) {
      const m = /^dry-run: ([\w-]+): (.*)$/.exec(line)
      if (m) out.set(m[1] as string, invocationOf((m[2] as string).split(' ')))
    }
    return out
  }

  it('starts each component with known flags only, accepted by its own config parser', async () => {
    const cmds = await dryRun('start', '4')
    expect([...cmds.keys()]).toEqual(['discovery', 'node-1', 'node-2', 'node-3', 'node-4', 'gateway'])
    for (const [name, { pkg, args }] of cmds) {
      const known = new Set(COMPONENTS[pkg].settings.map((s) => s.flag))
      for (const f of flagsOf(args).keys())
        expect(known.has(f), `${name}: --${f} is not a ${pkg} setting`).toBe(true)
      expect(() => COMPONENTS[pkg].parse(args, {}), `${name}: config refused`).not.toThrow()
    }
  })

  it('follows the port map of the environment and seeds each node with the others', async () => {
    const cmds = await dryRun('start', '3')
    const get = (name: string, f: string): string | undefined => {
      const inv = cmds.get(name)
      return inv === undefined ? undefined : flagsOf(inv.args).get(f)
    }
    expect(get('discovery', 'port')).toBe('18000')
    expect(get('gateway', 'port')).toBe('18080')
    expect(get('gateway', 'resp-port')).toBe('16379')
    expect(get('gateway', 'discovery')).toBe('http://127.0.0.1:18000')
    for (const k of [1, 2, 3]) {
      const name = `node-${k}`
      expect(get(name, 'id')).toBe(name)
      expect(get(name, 'tcp-port')).toBe(String(19000 + k - 1))
      expect(get(name, 'http-port')).toBe(String(18010 + k - 1))
      expect(get(name, 'resp-port')).toBe(String(16380 + k - 1))
      expect(get(name, 'discovery')).toBe('http://127.0.0.1:18000')
      expect(get(name, 'data-dir')).toBe(join(runDir, 'data', name))
      expect(get(name, 'cluster-size')).toBe('3')
      const others = [1, 2, 3].filter((j) => j !== k).map((j) => `127.0.0.1:${19000 + j - 1}`)
      expect(get(name, 'peers')?.split(',')).toEqual(others)
    }
  })

  it('uses no environment variable of its own that a component would also read', () => {
    const settings = allSettingEnvs()
    const scripts = [
      'run-cluster.sh',
      'monitor.sh',
      'scripts/cluster-env.sh',
      'scripts/cluster-lifecycle.sh',
      'scripts/cluster-ops.sh',
    ]
    const ours = new Set(
      scripts.flatMap((f) => readFileSync(join(ROOT, f), 'utf8').match(/\bTALLY_[A-Z_]+\b/g) ?? []),
    )
    // Same meaning on purpose: run-cluster.sh passes it on as --log-level.
    ours.delete('TALLY_LOG_LEVEL')
    expect(ours.size).toBeGreaterThan(5)
    for (const name of ours)
      expect(settings.has(name), `${name} would leak into the bins' config`).toBe(false)
  })
})
