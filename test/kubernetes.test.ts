// deploy/kubernetes: rendered with `kubectl kustomize` (no cluster needed;
// when kubectl is absent, the same inputs are loaded with a YAML parser and
// the secretGenerator applied by hand, and the test names say so), every
// object validated against the Kubernetes OpenAPI schemas (kubernetes-models:
// types, required fields, enums; it does not flag unknown fields, so the
// fields that matter are asserted one by one below), and every flag and
// TALLY_* variable the containers pass checked against the bins' schemas.

import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Deployment } from 'kubernetes-models/apps/v1/Deployment'
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { Secret } from 'kubernetes-models/v1/Secret'
import { Service } from 'kubernetes-models/v1/Service'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments, parse as parseYaml } from 'yaml'
import { parseDnsTarget } from '../packages/kit/src/dns/dns-target.ts'
import { COMPONENTS, flagsOf, invocationOf, ROOT } from './support/components.ts'

const DIR = join(ROOT, 'deploy', 'kubernetes')

// Loose views of the objects: only the fields the assertions read.
interface Probe {
  httpGet?: { path?: string; port?: string | number }
  tcpSocket?: { port?: string | number }
  failureThreshold?: number
  periodSeconds?: number
}
interface EnvVar {
  name: string
  value?: string
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } }
}
interface Container {
  name: string
  image: string
  command?: string[]
  args?: string[]
  env?: EnvVar[]
  ports?: Array<{ name?: string; containerPort: number }>
  readinessProbe?: Probe
  livenessProbe?: Probe
  startupProbe?: Probe
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> }
  securityContext?: {
    readOnlyRootFilesystem?: boolean
    allowPrivilegeEscalation?: boolean
    runAsNonRoot?: boolean
    capabilities?: { drop?: string[] }
  }
  volumeMounts?: Array<{ name: string; mountPath: string }>
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> }
  spec: {
    containers: Container[]
    terminationGracePeriodSeconds?: number
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number }
    volumes?: Array<{ name: string; emptyDir?: object }>
    automountServiceAccountToken?: boolean
  }
}
interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string; labels?: Record<string, string> }
  // biome-ignore lint/suspicious/noExplicitAny: rendered YAML, narrowed by the assertions
  spec?: any
  data?: Record<string, string>
}

const VALIDATORS: Record<string, (o: object) => { validate(): void }> = {
  'apps/v1/StatefulSet': (o) => new StatefulSet(o as never),
  'apps/v1/Deployment': (o) => new Deployment(o as never),
  'v1/Service': (o) => new Service(o as never),
  'v1/Secret': (o) => new Secret(o as never),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o as never),
}

/** The kustomization's inputs loaded by hand (no kubectl): resources, image overrides and the secretGenerator literals. */
function renderWithoutKubectl(): K8sObject[] {
  const k = parseYaml(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8')) as {
    resources: string[]
    secretGenerator?: Array<{ name: string; literals: string[] }>
    images?: Array<{ name: string; newName?: string; newTag?: string }>
  }
  const out: K8sObject[] = []
  for (const r of k.resources) {
    for (const doc of parseAllDocuments(readFileSync(join(DIR, r), 'utf8'))) out.push(doc.toJS() as K8sObject)
  }
  for (const o of out) {
    for (const c of (o.spec?.template as PodTemplate | undefined)?.spec.containers ?? []) {
      const img = k.images?.find((i) => i.name === c.image)
      if (img !== undefined)
        c.image = `${img.newName ?? img.name}${img.newTag === undefined ? '' : `:${img.newTag}`}`
    }
  }
  for (const g of k.secretGenerator ?? []) {
    const data: Record<string, string> = {}
    for (const l of g.literals) {
      const eq = l.indexOf('=')
      data[l.slice(0, eq)] = Buffer.from(l.slice(eq + 1)).toString('base64')
    }
    out.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: g.name }, data })
  }
  return out
}

/** Renders the base: `kubectl kustomize`, else (kubectl not installed) the YAML loader above. */
function render(): { objects: K8sObject[]; renderer: string } {
  try {
    const stdout = execFileSync('kubectl', ['kustomize', DIR], { encoding: 'utf8', timeout: 30_000 })
    return {
      objects: parseAllDocuments(stdout).map((d) => d.toJS() as K8sObject),
      renderer: 'kubectl kustomize',
    }
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw err
    return { objects: renderWithoutKubectl(), renderer: 'a YAML loader (kubectl is not installed)' }
  }
}

const { objects, renderer } = render()

function one(kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name)
  expect(found, `${kind}/${name}`).toHaveLength(1)
  return found[0] as K8sObject
}
const nodeSet = () => one('StatefulSet', 'tally-node')
const gatewayDeploy = () => one('Deployment', 'tally-gateway')
const containerOf = (o: K8sObject): Container =>
  (o.spec.template as PodTemplate).spec.containers[0] as Container
const flagsFor = (c: Container) => flagsOf(c.args ?? [])
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name)
const portOf = (c: Container, name: string) => c.ports?.find((p) => p.name === name)?.containerPort
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v)

/** `$(VAR)` references expanded as the kubelet would, with sample values. */
function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, v: string) => vars[v] ?? m)
}

describe(`deploy/kubernetes rendered by ${renderer}`, () => {
  it('renders the expected objects', () => {
    const kinds = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()
    expect(kinds.filter((k) => !k.startsWith('Secret/'))).toEqual(
      [
        'Deployment/tally-gateway',
        'PodDisruptionBudget/tally-gateway',
        'PodDisruptionBudget/tally-node',
        'Service/tally-gateway',
        'Service/tally-node',
        'Service/tally-nodes',
        'StatefulSet/tally-node',
      ].sort(),
    )
    expect(kinds.filter((k) => k.startsWith('Secret/tally-cluster-key'))).toHaveLength(1)
  })

  it('every object validates against the Kubernetes OpenAPI schema', () => {
    for (const o of objects) {
      const make = VALIDATORS[`${o.apiVersion}/${o.kind}`]
      expect(make, `a validator for ${o.apiVersion} ${o.kind}`).toBeDefined()
      expect(() => make?.(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow()
    }
  })

  it('the schema check can fail (a port that is not a number is refused)', () => {
    const bad = structuredClone(nodeSet())
    containerOf(bad).ports = [{ name: 'http', containerPort: 'eighty' as unknown as number }]
    expect(() => new StatefulSet(bad as never).validate()).toThrow(/containerPort/)
  })
})

describe('nodes: StatefulSet tally-node', () => {
  it('runs 3 replicas with a PVC per pod mounted at --data-dir, updated one pod at a time', () => {
    const s = nodeSet().spec
    expect(s.replicas).toBe(3)
    expect(s.updateStrategy.type).toBe('RollingUpdate')
    expect(s.updateStrategy.rollingUpdate?.maxUnavailable ?? 1).toBe(1)
    const claims = s.volumeClaimTemplates as Array<{
      metadata: { name: string }
      spec: { accessModes: string[] }
    }>
    expect(claims.map((c) => c.metadata.name)).toEqual(['data'])
    expect(claims[0]?.spec.accessModes).toEqual(['ReadWriteOnce'])
    const c = containerOf(nodeSet())
    const dataDir = flagsFor(c).get('data-dir')
    expect(c.volumeMounts?.find((m) => m.name === 'data')?.mountPath).toBe(dataDir)
  })

  it('takes --id from the pod name and advertises the pod DNS name of the headless Service', () => {
    const c = containerOf(nodeSet())
    expect(envOf(c, 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name')
    expect(envOf(c, 'NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace')
    const f = flagsFor(c)
    expect(f.get('id')).toBe('$(POD_NAME)')
    expect(f.get('host')).toBe('0.0.0.0')
    const headless = nodeSet().spec.serviceName as string
    expect(f.get('advertise')).toBe(`$(POD_NAME).${headless}.$(NAMESPACE).svc.cluster.local`)
  })

  it("discovers peers through the headless Service's gossip SRV records, which point at --tcp-port", () => {
    const c = containerOf(nodeSet())
    const f = flagsFor(c)
    const target = parseDnsTarget(expand(f.get('discovery') ?? '', { NAMESPACE: 'ns' }))
    expect(target).toEqual({ kind: 'srv', name: '_gossip._tcp.tally-nodes.ns.svc.cluster.local' })
    const headless = one('Service', 'tally-nodes').spec
    const gossip = headless.ports.find((p: { name: string }) => p.name === 'gossip')
    expect(gossip.protocol).toBe('TCP')
    expect(portOf(c, gossip.targetPort)).toBe(Number(f.get('tcp-port')))
    expect(gossip.port).toBe(Number(f.get('tcp-port')))
  })

  it('is ready only when /health says it can serve, with a startup probe for recovery and a liveness probe', () => {
    const c = containerOf(nodeSet())
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/health', port: 'http' })
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/health', port: 'http' })
    expect(c.startupProbe?.httpGet).toEqual({ path: '/health', port: 'http' })
    const startupBudget = (c.startupProbe?.failureThreshold ?? 0) * (c.startupProbe?.periodSeconds ?? 0)
    expect(startupBudget, 'seconds allowed for WAL recovery').toBeGreaterThanOrEqual(300)
    expect(portOf(c, 'http')).toBe(Number(flagsFor(c).get('http-port')))
  })

  it('gives the shutdown sequence time: grace period above the 10 s the server allows itself', () => {
    const t = nodeSet().spec.template as PodTemplate
    expect(t.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(20)
    const server = readFileSync(join(ROOT, 'packages/node/src/server.ts'), 'utf8')
    const delay = Number(
      /closeWithGrace\(\{ delay: ([\d_]+)/.exec(server)?.[1]?.replaceAll('_', '') ?? Number.NaN,
    )
    expect(t.spec.terminationGracePeriodSeconds ?? 0).toBeGreaterThan(delay / 1000)
  })

  it('reads the cluster key from the generated Secret as TALLY_CLUSTER_KEY', () => {
    const c = containerOf(nodeSet())
    const ref = envOf(c, 'TALLY_CLUSTER_KEY')?.valueFrom?.secretKeyRef
    expect(ref).toBeDefined()
    const secret = one('Secret', ref?.name ?? '')
    const key = Buffer.from(secret.data?.[ref?.key ?? ''] ?? '', 'base64').toString()
    expect(key.length).toBeGreaterThanOrEqual(8)
    expect(key, 'the shipped key is a marked placeholder').toMatch(/REPLACE-ME/)
    expect(flagsFor(c).has('cluster-key'), 'never on the command line').toBe(false)
  })

  it.each([
    ['nodes', nodeSet],
    ['gateway', gatewayDeploy],
  ] as const)(
    '%s carry Prometheus scrape annotations pointing at /metrics on the HTTP port',
    (_what, get) => {
      const t = get().spec.template as PodTemplate
      expect(t.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/path': '/metrics',
      })
      expect(Number(t.metadata.annotations?.['prometheus.io/port'])).toBe(portOf(containerOf(get()), 'http'))
    },
  )
})

describe('hardening of every pod', () => {
  for (const [what, get] of [
    ['nodes', nodeSet],
    ['gateway', gatewayDeploy],
  ] as const) {
    it(`${what}: non-root, read-only root filesystem, no privilege escalation, writable only on volumes, with requests and limits`, () => {
      const t = get().spec.template as PodTemplate
      expect(t.spec.securityContext?.runAsNonRoot).toBe(true)
      expect(t.spec.securityContext?.runAsUser).toBeGreaterThan(0)
      expect(t.spec.automountServiceAccountToken).toBe(false)
      for (const c of t.spec.containers) {
        expect(c.securityContext?.readOnlyRootFilesystem).toBe(true)
        expect(c.securityContext?.allowPrivilegeEscalation).toBe(false)
        expect(c.securityContext?.capabilities?.drop).toEqual(['ALL'])
        for (const k of ['cpu', 'memory']) {
          expect(c.resources?.requests?.[k], `${c.name} requests ${k}`).toBeDefined()
          expect(c.resources?.limits?.[k], `${c.name} limits ${k}`).toBeDefined()
        }
        const claims = ((get().spec.volumeClaimTemplates ?? []) as Array<{ metadata: { name: string } }>).map(
          (v) => v.metadata.name,
        )
        for (const m of c.volumeMounts ?? []) {
          const vol = t.spec.volumes?.find((v) => v.name === m.name)
          expect(
            claims.includes(m.name) || vol?.emptyDir !== undefined,
            `${m.mountPath} is a PVC or an emptyDir`,
          ).toBe(true)
        }
      }
    })
  }
})

describe('Services and disruption budgets', () => {
  it('headless Service tally-nodes publishes not-ready pods and names its ports', () => {
    const s = one('Service', 'tally-nodes').spec
    expect(s.clusterIP).toBe('None')
    expect(s.publishNotReadyAddresses).toBe(true)
    expect(s.ports.map((p: { name: string }) => p.name).sort()).toEqual(['gossip', 'http', 'resp'])
    expect(selects(s.selector, (nodeSet().spec.template as PodTemplate).metadata.labels)).toBe(true)
    expect(nodeSet().spec.serviceName).toBe('tally-nodes')
  })

  it('ClusterIP Services reach ready nodes and gateways over HTTP and RESP, on ports the containers declare', () => {
    for (const [svc, owner, resp] of [
      ['tally-node', nodeSet, 6380],
      ['tally-gateway', gatewayDeploy, 6379],
    ] as const) {
      const s = one('Service', svc).spec
      expect(s.type ?? 'ClusterIP').toBe('ClusterIP')
      expect(s.clusterIP).not.toBe('None')
      const pod = owner().spec.template as PodTemplate
      expect(selects(s.selector, pod.metadata.labels), svc).toBe(true)
      const c = pod.spec.containers[0] as Container
      for (const p of s.ports as Array<{ name: string; port: number; targetPort: string }>) {
        expect(portOf(c, p.targetPort), `${svc}: ${p.name}`).toBeDefined()
      }
      expect(s.ports.find((p: { name: string }) => p.name === 'resp')?.port).toBe(resp)
      expect(portOf(c, 'resp')).toBe(resp)
    }
  })

  it('a drain never takes more than one node (or gateway) at a time', () => {
    for (const [name, owner] of [
      ['tally-node', nodeSet],
      ['tally-gateway', gatewayDeploy],
    ] as const) {
      const pdb = one('PodDisruptionBudget', name).spec
      expect(pdb.maxUnavailable).toBe(1)
      expect(selects(pdb.selector.matchLabels, (owner().spec.template as PodTemplate).metadata.labels)).toBe(
        true,
      )
    }
  })
})

describe('gateway: Deployment tally-gateway', () => {
  it("runs 2 replicas, rolls one at a time, and finds the nodes' HTTP ports through SRV", () => {
    const d = gatewayDeploy().spec
    expect(d.replicas).toBe(2)
    expect(d.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } })
    const c = containerOf(gatewayDeploy())
    const target = parseDnsTarget(expand(flagsFor(c).get('discovery') ?? '', { NAMESPACE: 'ns' }))
    expect(target).toEqual({ kind: 'srv', name: '_http._tcp.tally-nodes.ns.svc.cluster.local' })
    const http = one('Service', 'tally-nodes').spec.ports.find((p: { name: string }) => p.name === 'http')
    expect(http.port).toBe(Number(flagsFor(containerOf(nodeSet())).get('http-port')))
    expect(envOf(c, 'NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace')
  })

  it('is ready when /health is (a node is usable) and live while it answers TCP', () => {
    const c = containerOf(gatewayDeploy())
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/health', port: 'http' })
    expect(c.livenessProbe?.tcpSocket).toEqual({ port: 'http' })
    expect(portOf(c, 'http')).toBe(Number(flagsFor(c).get('port')))
  })
})

describe("containers pass only the bins' settings", () => {
  const vars = { POD_NAME: 'tally-node-0', NAMESPACE: 'default' }
  for (const [what, get] of [
    ['nodes', nodeSet],
    ['gateway', gatewayDeploy],
  ] as const) {
    it(`${what}: every flag and TALLY_* variable exists, and the config parses`, () => {
      const c = containerOf(get())
      const { pkg, args } = invocationOf([...(c.command ?? []), ...(c.args ?? [])])
      const component = COMPONENTS[pkg]
      const flags = new Set(component.settings.map((s) => s.flag))
      const envs = new Set(component.settings.map((s) => s.env))
      for (const f of flagsOf(args).keys()) expect(flags.has(f), `--${f} is not a ${pkg} setting`).toBe(true)
      const env: Record<string, string> = {}
      for (const e of c.env ?? []) {
        if (e.name.startsWith('TALLY_'))
          expect(envs.has(e.name), `${e.name} is not a ${pkg} setting`).toBe(true)
        env[e.name] = e.value ?? (e.valueFrom?.secretKeyRef ? 'a-secret-of-enough-length' : 'x')
      }
      const expanded = args.map((a) => expand(a, vars))
      expect(() => component.parse(expanded, env), `${what}: config refused`).not.toThrow()
    })
  }

  it('runs the image the Dockerfile builds', () => {
    for (const o of [nodeSet(), gatewayDeploy()]) expect(containerOf(o).image).toBe('tally:local')
  })
})
