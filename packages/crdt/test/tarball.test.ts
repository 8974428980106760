// What a consumer gets from `npm install @tally/crdt`: the packed tarball,
// installed offline into a fresh project, is usable from ESM, CommonJS
// (require) and TypeScript (nodenext, .mts and .cts), carries its LICENSE,
// and its source maps resolve without the repository. Needs `npm run build`
// (the tarball is made of dist/); fails with that hint otherwise.

import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const PKG_DIR = fileURLToPath(new URL('..', import.meta.url))
const ROOT = resolve(PKG_DIR, '../..')
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

let project = ''
let installed = ''

beforeAll(async () => {
  if (!existsSync(join(PKG_DIR, 'dist', 'index.js')))
    throw new Error('packages/crdt/dist is missing: run npm run build')
  project = mkdtempSync(join(tmpdir(), 'tally-crdt-consumer-'))
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', project], { cwd: PKG_DIR })
  const tgz = stdout.trim().split('\n').pop() as string
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(project, tgz)], { cwd: project })
  installed = join(project, 'node_modules', '@tally', 'crdt')
}, 60_000)

afterAll(() => {
  if (project !== '') rmSync(project, { recursive: true, force: true })
})

async function node(file: string, text: string): Promise<{ stdout: string; stderr: string }> {
  writeFileSync(join(project, file), text)
  return run(process.execPath, [file], { cwd: project })
}

describe('@tally/crdt tarball', () => {
  it('is usable from an ES module', async () => {
    const { stdout } = await node(
      'use.mjs',
      "import { PNCounter } from '@tally/crdt'\nconst c = new PNCounter('a')\nc.increment(2)\nc.decrement(1)\nconsole.log(c.value)\n",
    )
    expect(stdout.trim()).toBe('1')
  })

  it('is usable from CommonJS with require(), without warnings', async () => {
    const { stdout, stderr } = await node(
      'use.cjs',
      "const { PNCounter, ErrorCodes } = require('@tally/crdt')\nconst c = new PNCounter('a')\nc.increment(5)\nconsole.log(c.value, typeof ErrorCodes)\n",
    )
    expect(stdout.trim()).toBe('5 object')
    expect(stderr).toBe('')
  })

  it('type-checks from TypeScript (module nodenext) in .mts and .cts files', async () => {
    writeFileSync(
      join(project, 'esm.mts'),
      "import { PNCounter } from '@tally/crdt'\nconst c: PNCounter = new PNCounter('a')\nexport const v: number = c.value\n",
    )
    writeFileSync(
      join(project, 'cjs.cts'),
      "import { PNCounter } from '@tally/crdt'\nconst c: PNCounter = new PNCounter('b')\nexport const v: number = c.value\n",
    )
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          types: [],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    )
    await expect(run(process.execPath, [TSC, '-p', project], { cwd: project })).resolves.toBeDefined()
    // And a type error is reported (the check above is not vacuous).
    writeFileSync(
      join(project, 'esm.mts'),
      "import { PNCounter } from '@tally/crdt'\nconst c: string = new PNCounter('a')\n",
    )
    const failed = await run(process.execPath, [TSC, '-p', project], { cwd: project }).then(
      () => '',
      (err: { stdout?: string }) => err.stdout ?? '',
    )
    expect(failed).toMatch(/TS2322/)
  })

  it('ships LICENSE and source maps whose sources are inside the package', () => {
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License/)
    const maps = readdirSync(join(installed, 'dist')).filter((f) => f.endsWith('.map'))
    expect(maps.length).toBeGreaterThan(0)
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(installed, 'dist', m), 'utf8')) as {
        sources: string[]
        sourcesContent?: string[]
      }
      for (const s of map.sources) {
        expect(existsSync(join(dirname(join(installed, 'dist', m)), s)), `${m} → ${s}`).toBe(true)
      }
      if (m.endsWith('.js.map'))
        expect(map.sourcesContent?.length, `${m} inlines its sources`).toBe(map.sources.length)
    }
  })
})
