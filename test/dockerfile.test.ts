// The Dockerfile builds, without a Docker engine: its build stage is replayed
// on exactly the files its COPY lines bring in from the context (honouring
// .dockerignore) in a temp dir standing for /app, its RUN steps run there
// (npm ci with --prefer-offline, so the local npm cache serves it), then the
// runtime stage's COPY --from=build lines are replayed into a second dir and
// the three bins answer --help from it. A file the build needs but the image
// lacks (a script, a workspace, a tsconfig) fails here. Not replayed: FROM
// (the host's Node stands for node:20-slim) and the runtime stage's RUN
// (mkdir/chown of /var/lib/tally, outside /app).

import { execFile } from 'node:child_process'
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { promisify } from 'node:util'
import { Cleanup, http, portOf, spawnProc, waitForLine } from '@tally/kit/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ROOT } from './support/components.ts'

const run = promisify(execFile)

/** One instruction of the Dockerfile, continuation lines joined. */
interface Instruction {
  readonly op: string
  readonly args: string
  readonly stage: string
}

/** Parses the Dockerfile into instructions tagged with their stage name (`FROM … AS name`, else its index). */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = []
  let stage = ''
  let stages = 0
  const lines = text.replace(/\\\n/g, ' ').split('\n')
  for (const raw of lines) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = /^(\w+)\s+(.*)$/.exec(line)
    if (m === null) throw new Error(`cannot read Dockerfile line ${JSON.stringify(line)}`)
    const op = (m[1] as string).toUpperCase()
    const args = m[2] as string
    if (op === 'FROM') stage = /\sAS\s+(\S+)$/i.exec(args)?.[1] ?? String(stages++)
    out.push({ op, args, stage })
  }
  return out
}

/** A .dockerignore pattern as a RegExp over context-relative paths (`**`, `*`, `?`; a match also covers what is under it). */
function ignoreRegExp(pattern: string): RegExp {
  let re = ''
  const p = pattern.replace(/^\/+/, '').replace(/\/+$/, '')
  for (let i = 0; i < p.length; i++) {
    const ch = p[i] as string
    if (p.startsWith('**/', i)) {
      re += '(?:.*/)?'
      i += 2
    } else if (p.startsWith('**', i)) {
      re += '.*'
      i += 1
    } else if (ch === '*') re += '[^/]*'
    else if (ch === '?') re += '[^/]'
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}(?:/.*)?$`)
}

function readIgnore(): { ignored: (rel: string) => boolean } {
  const file = join(ROOT, '.dockerignore')
  const rules = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) =>
          l.startsWith('!')
            ? { keep: true, re: ignoreRegExp(l.slice(1)) }
            : { keep: false, re: ignoreRegExp(l) },
        )
    : []
  return {
    ignored: (rel) => {
      let out = false
      for (const r of rules) if (r.re.test(rel)) out = !r.keep
      return out
    },
  }
}

/** Splits `COPY [--flag=…] src… dest`. */
function copyArgs(args: string): { from: string | undefined; srcs: string[]; dest: string } {
  const words = args.split(/\s+/)
  let from: string | undefined
  while (words[0]?.startsWith('--')) {
    const flag = words.shift() as string
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length)
  }
  const dest = words.pop()
  if (dest === undefined || words.length === 0) throw new Error(`bad COPY ${args}`)
  return { from, srcs: words, dest }
}

/** Docker COPY semantics for one source: a directory's contents go into dest; a file into dest/ or as dest. */
function copyOne(srcAbs: string, destAbs: string, intoDir: boolean, keep: (abs: string) => boolean): void {
  if (!existsSync(srcAbs)) throw new Error(`COPY source missing: ${srcAbs}`)
  if (lstatSync(srcAbs).isDirectory()) {
    mkdirSync(destAbs, { recursive: true })
    for (const name of readdirSync(srcAbs)) {
      const s = join(srcAbs, name)
      if (!keep(s)) continue
      cpSync(s, join(destAbs, name), { recursive: true, verbatimSymlinks: true, filter: keep })
    }
    return
  }
  const target = intoDir ? join(destAbs, srcAbs.slice(srcAbs.lastIndexOf('/') + 1)) : destAbs
  mkdirSync(dirname(target), { recursive: true })
  cpSync(srcAbs, target, { verbatimSymlinks: true })
}

const instructions = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
const work = mkdtempSync(join(tmpdir(), 'tally-dockerfile-'))
const buildDir = join(work, 'build')
const runtimeDir = join(work, 'runtime')
const log: string[] = []

/** Maps an image path under WORKDIR (/app) to `root`. */
function under(root: string, workdir: string, p: string): string {
  const abs = p.startsWith('/') ? p : join(workdir, p)
  if (abs !== '/app' && !abs.startsWith('/app/')) throw new Error(`path outside /app: ${p}`)
  return join(root, relative('/app', abs))
}

beforeAll(async () => {
  const { ignored } = readIgnore()
  const keepContext = (abs: string) => !ignored(relative(ROOT, abs))
  const buildName = instructions.find((i) => i.op === 'FROM' && /\sAS\s+build$/i.test(i.args))?.stage
  expect(buildName, 'the Dockerfile has a stage named build').toBe('build')
  let workdir = '/'
  for (const ins of instructions.filter((i) => i.stage === 'build')) {
    if (ins.op === 'WORKDIR') workdir = ins.args
    else if (ins.op === 'COPY') {
      const { from, srcs, dest } = copyArgs(ins.args)
      expect(from, 'the build stage copies from the context only').toBeUndefined()
      const intoDir = dest.endsWith('/') || srcs.length > 1
      for (const src of srcs) {
        if (ignored(src)) throw new Error(`COPY ${src}: excluded by .dockerignore`)
        copyOne(join(ROOT, src), under(buildDir, workdir, dest), intoDir, keepContext)
      }
    } else if (ins.op === 'RUN') {
      // The local npm cache serves the install; nothing else changes.
      const cmd = ins.args.replace(/\bnpm ci\b/, 'npm ci --prefer-offline')
      const t0 = Date.now()
      try {
        await run('sh', ['-c', cmd], { cwd: under(buildDir, workdir, '.'), maxBuffer: 64 * 1024 * 1024 })
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; message: string }
        throw new Error(`RUN ${ins.args} failed:\n${e.stdout ?? ''}\n${e.stderr ?? e.message}`)
      }
      log.push(`RUN ${ins.args}: ${Date.now() - t0} ms`)
    } else if (!['FROM', 'ENV', 'ARG', 'LABEL'].includes(ins.op)) {
      throw new Error(`build stage: ${ins.op} is not replayed by this test; teach it`)
    }
  }
  // Runtime stage: only its COPY --from=build lines (see the header).
  workdir = '/'
  const runtimeStage = instructions.filter((i) => i.op === 'FROM').pop()?.stage
  for (const ins of instructions.filter((i) => i.stage === runtimeStage)) {
    if (ins.op === 'WORKDIR') workdir = ins.args
    if (ins.op !== 'COPY') continue
    const { from, srcs, dest } = copyArgs(ins.args)
    expect(from, `runtime COPY ${ins.args} comes from the build stage`).toBe('build')
    const intoDir = dest.endsWith('/') || srcs.length > 1
    for (const src of srcs)
      copyOne(under(buildDir, '/app', src), under(runtimeDir, workdir, dest), intoDir, () => true)
  }
}, 240_000)

const cleanup = new Cleanup()
afterEach(() => cleanup.run())
afterAll(() => {
  rmSync(work, { recursive: true, force: true })
})

describe('Dockerfile replayed without Docker', () => {
  it('reads the .dockerignore patterns the way Docker does for the cases used here', () => {
    const { ignored } = readIgnore()
    expect(ignored('node_modules')).toBe(true)
    expect(ignored('packages/node/node_modules/x')).toBe(true)
    expect(ignored('packages/node/dist/server.js')).toBe(true)
    expect(ignored('.git')).toBe(true)
    expect(ignored('packages/node/src/server.ts')).toBe(false)
    expect(ignored('LICENSE')).toBe(false)
  })

  it('the build stage ran every RUN step', () => {
    expect(log.length).toBe(instructions.filter((i) => i.stage === 'build' && i.op === 'RUN').length)
    expect(existsSync(join(buildDir, 'packages/node/dist/server.js'))).toBe(true)
    expect(existsSync(join(buildDir, 'packages/node/dist/tally-node.js'))).toBe(true)
  })

  it('the runtime stage has every bin, its workspace dependencies and LICENSE', () => {
    for (const f of [
      'LICENSE',
      'package.json',
      'packages/crdt/dist/index.js',
      'packages/kit/dist/index.js',
      'node_modules/fastify/package.json',
      // Left out of the bundles, loaded at run time: a native addon; ajv once the server listens.
      'node_modules/@fastify/ajv-compiler/package.json',
      'node_modules/classic-level/package.json',
      'packages/node/dist/tally-node.js',
      'packages/node/dist/tally-node.bundle.cjs',
      'packages/node/dist/tally-node.bundle.cjs.map',
      'packages/node/dist/tally-node.bundle.cache',
      'packages/node/dist/tally-node.licenses.txt',
      'packages/discovery/dist/tally-discovery.js',
      'packages/discovery/dist/tally-discovery.bundle.cjs',
      'packages/discovery/dist/tally-discovery.bundle.cjs.map',
      'packages/discovery/dist/tally-discovery.bundle.cache',
      'packages/discovery/dist/tally-discovery.licenses.txt',
      'packages/gateway/dist/tally-gateway.js',
      'packages/gateway/dist/tally-gateway.bundle.cjs',
      'packages/gateway/dist/tally-gateway.bundle.cjs.map',
      'packages/gateway/dist/tally-gateway.bundle.cache',
      'packages/gateway/dist/tally-gateway.licenses.txt',
    ]) {
      expect(existsSync(join(runtimeDir, f)), f).toBe(true)
    }
    // Production dependencies only.
    expect(existsSync(join(runtimeDir, 'node_modules/vitest')), 'dev dependencies pruned').toBe(false)
  })

  it.each([
    ['node', 'Usage: tally-node'],
    ['gateway', 'Usage: tally-gateway'],
    ['discovery', 'Usage: tally-discovery'],
  ])('node packages/%s/dist/tally-<pkg>.js --help runs from the runtime files', async (pkg, usage) => {
    const { stdout } = await run(process.execPath, [`packages/${pkg}/dist/tally-${pkg}.js`, '--help'], {
      cwd: runtimeDir,
      env: { ...process.env, NODE_ENV: 'production' },
    })
    expect(stdout).toContain(usage)
  })

  it('the bundled tally-node serves from the runtime files: validated writes (ajv loaded after listening), metrics', async () => {
    const p = spawnProc(
      cleanup,
      'node-1',
      join(runtimeDir, 'packages/node/dist/tally-node.js'),
      [
        ...['--id', 'node-1', '--host', '127.0.0.1', '--data-dir', join(work, 'data-node-1')],
        ...['--tcp-port', '0', '--http-port', '0', '--resp-port', '0', '--durability', 'async'],
      ],
      { env: { ...process.env, NODE_ENV: 'production' } },
    )
    const url = await waitForLine(p, (r) =>
      r.msg === 'listening' && typeof r.http === 'string' ? r.http : undefined,
    )
    expect(portOf(url)).toBeGreaterThan(0)
    const ok = await http<{ value: number }>(`${url}/counters/c/increment`, 'POST', { amount: 2 })
    expect(ok).toEqual({ status: 200, body: expect.objectContaining({ value: 2 }) })
    // The body schema (compiled by ajv from the runtime node_modules) refuses a bad amount.
    const bad = await http<{ error: { code: string } }>(`${url}/counters/c/increment`, 'POST', {
      amount: 'x',
    })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('TALLY_AMOUNT_INVALID')
    const metrics = await fetch(`${url}/metrics`)
    expect(metrics.status).toBe(200)
    expect(await metrics.text()).toContain('process_cpu_seconds_total')
  })
})
