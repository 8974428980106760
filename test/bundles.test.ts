// The bundled bins (scripts/bundle-bins.mjs, run by npm run build): each
// entry maps stack traces so they name the TypeScript sources, the
// licence file covers every npm package inside the bundle, and what must stay
// out of it (native addons and their loaders, ajv and fast-json-stringify) does.

import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { Cleanup, spawnProc, until, waitForLine } from '@tally/kit/testing'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { ROOT } from './support/components.ts'

const run = promisify(execFile)
const BINS = [
  { pkg: 'node', bin: 'tally-node' },
  { pkg: 'gateway', bin: 'tally-gateway' },
  { pkg: 'discovery', bin: 'tally-discovery' },
] as const
const dist = (pkg: string, file: string): string => join(ROOT, 'packages', pkg, 'dist', file)
const work = mkdtempSync(join(tmpdir(), 'tally-bundles-'))
const cleanup = new Cleanup()
afterEach(() => cleanup.run())
afterAll(() => rmSync(work, { recursive: true, force: true }))

// Preloaded into a bin: process.exit (which --help calls from the bundled
// settings code) first prints the stack of its caller.
const preload = join(work, 'stack-on-exit.mjs')
writeFileSync(
  preload,
  [
    'const exit = process.exit.bind(process)',
    'process.exit = (code) => {',
    "  process.stderr.write('STACK ' + new Error('exit').stack + '\\n')",
    '  exit(code)',
    '}',
    '',
  ].join('\n'),
)

/** `node_modules/<name>` package names among a source map's sources. */
function bundledPackages(sources: readonly string[]): Set<string> {
  const out = new Set<string>()
  for (const s of sources) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(s)
    if (m?.[1] !== undefined) out.add(m[1])
  }
  return out
}

describe.each(BINS)('bundled $bin', ({ pkg, bin }) => {
  it('exists (npm run build made it)', () => {
    for (const f of [
      `${bin}.js`,
      `${bin}.bundle.cjs`,
      `${bin}.bundle.cjs.map`,
      `${bin}.bundle.cache`,
      `${bin}.licenses.txt`,
    ])
      expect(existsSync(dist(pkg, f)), `${f}: run npm run build`).toBe(true)
  })

  it('is ASCII only (V8 holds the source one byte a character, not two)', () => {
    const text = readFileSync(dist(pkg, `${bin}.bundle.cjs`), 'utf8')
    expect(text.match(/[\u0080-\uffff]/g) ?? []).toEqual([])
  })

  it('names the TypeScript sources in stack traces', async () => {
    const { stdout, stderr } = await run(process.execPath, [
      '--import',
      preload,
      dist(pkg, `${bin}.js`),
      '--help',
    ])
    expect(stdout).toContain(`Usage: ${bin}`)
    const frames = stderr.split('\n').filter((l) => l.trim().startsWith('at '))
    // The bundled settings code called process.exit: its frame maps back to kit's TypeScript.
    expect(
      frames.some((f) => /packages\/kit\/src\/[\w-]+\.ts:\d+:\d+/.test(f)),
      stderr,
    ).toBe(true)
    expect(
      frames.some((f) => f.includes('.bundle.cjs')),
      stderr,
    ).toBe(false)
  })

  it('ships the licence of every npm package it holds, and leaves native addons and ajv out', () => {
    const map = JSON.parse(readFileSync(dist(pkg, `${bin}.bundle.cjs.map`), 'utf8')) as { sources: string[] }
    // Sources are relative to the map's directory; `namespace:name` ones are made by the build (bundle-bins.mjs).
    const sources = map.sources.filter((s) => !/^[\w-]+:/.test(s)).map((s) => resolve(dist(pkg, ''), s))
    const packages = bundledPackages(sources)
    expect(packages.size).toBeGreaterThan(10)
    const notice = readFileSync(dist(pkg, `${bin}.licenses.txt`), 'utf8')
    for (const name of packages) {
      const version = (
        JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
          version: string
        }
      ).version
      expect(notice, name).toContain(`\n${name}@${version} (`)
    }
    // Native addons load their binaries from their own directory: they (and classic-level's loader) stay out.
    for (const external of ['msgpackr-extract', 'node-gyp-build', 'ajv', 'fast-json-stringify-compiler'])
      expect(
        [...packages].some((p) => p.endsWith(external)),
        external,
      ).toBe(false)
    expect(sources.filter((s) => s.endsWith('/classic-level/binding.js'))).toEqual([])
    // The project's own sources are mapped to TypeScript, not to tsc's output.
    expect(sources).toContain(join(ROOT, 'packages', pkg, 'src', 'server.ts'))
    expect(sources.filter((s) => /packages\/\w+\/dist\//.test(s))).toEqual([])
  })

  it('starts from the code cache the build wrote for this Node', async () => {
    const { stdout } = await run(process.execPath, [dist(pkg, `${bin}.js`)], {
      env: { ...process.env, TALLY_CODE_CACHE: 'check' },
    })
    expect(stdout).toBe('code cache: used\n')
  })

  it('refuses any other TALLY_CODE_CACHE value before it compiles or runs anything', async () => {
    const err = (await run(process.execPath, [dist(pkg, `${bin}.js`), '--help'], {
      env: { ...process.env, TALLY_CODE_CACHE: 'chek' },
    }).catch((e: unknown) => e)) as { code?: number; stdout?: string; stderr?: string }
    expect(err.code).toBe(1)
    expect(err.stdout).toBe('')
    expect(err.stderr).toBe(`${bin}: TALLY_CODE_CACHE must be write or check (got "chek")\n`)
  })

  it('starts from its source when the code cache is refused or absent', async () => {
    // A copy of the bin beside its package's dist (so that its npm packages resolve as from dist).
    const copy = mkdtempSync(join(ROOT, 'packages', pkg, '.code-cache-test-'))
    try {
      for (const f of [`${bin}.js`, `${bin}.bundle.cjs`, `${bin}.bundle.cjs.map`])
        writeFileSync(join(copy, f), readFileSync(dist(pkg, f)))
      const check = async () =>
        (
          await run(process.execPath, [join(copy, `${bin}.js`)], {
            env: { ...process.env, TALLY_CODE_CACHE: 'check' },
          })
        ).stdout
      const help = async () => (await run(process.execPath, [join(copy, `${bin}.js`), '--help'])).stdout
      // Not V8's: another Node's cache, or a damaged file, is refused the same way.
      writeFileSync(join(copy, `${bin}.bundle.cache`), Buffer.from('not a code cache'.repeat(64)))
      expect(await check()).toBe('code cache: rejected\n')
      expect(await help()).toContain(`Usage: ${bin}`)
      rmSync(join(copy, `${bin}.bundle.cache`))
      expect(await check()).toBe('code cache: absent\n')
      expect(await help()).toContain(`Usage: ${bin}`)
    } finally {
      rmSync(copy, { recursive: true, force: true })
    }
  })
})

describe('bundled tally-node', () => {
  // Preloaded: says (on stderr) when msgpackr's native string extractor is loaded.
  const watch = join(work, 'watch-extract.cjs')
  writeFileSync(
    watch,
    [
      "const Module = require('node:module')",
      'const load = Module._load',
      'Module._load = function (request, ...rest) {',
      '  const out = load.call(this, request, ...rest)',
      "  if (request === 'msgpackr-extract') process.stderr.write('EXTRACTOR ' + typeof out.extractStrings + '\\n')",
      '  return out',
      '}',
      '',
    ].join('\n'),
  )

  it("sets msgpackr's native extractor once running, not while the bundle loads (--help exits first)", async () => {
    const help = await run(process.execPath, ['--require', watch, dist('node', 'tally-node.js'), '--help'])
    expect(help.stderr).not.toContain('EXTRACTOR')
    const p = spawnProc(
      cleanup,
      'node-1',
      dist('node', 'tally-node.js'),
      [
        ...['--id', 'node-1', '--host', '127.0.0.1', '--data-dir', join(work, 'node-1')],
        ...['--tcp-port', '0', '--http-port', '0', '--resp-port', '0'],
      ],
      { env: { NODE_OPTIONS: `--require ${watch}` } },
    )
    await waitForLine(p, (r) => (r.msg === 'listening' ? true : undefined))
    await until(() => p.output().includes('EXTRACTOR function'), {
      what: 'extractor loaded',
      timeoutMs: 10_000,
    })
  })
})
