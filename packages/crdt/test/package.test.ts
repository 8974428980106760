// The package promises: zero runtime dependencies, no Node built-ins in src
// (it runs in browsers), side-effect free, an exports map with types.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const root = new URL('../', import.meta.url)
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
const srcDir = new URL('src/', root)
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.ts'))

describe('@tally/crdt package', () => {
  it('has no runtime dependencies and declares itself side-effect free', () => {
    expect(pkg.dependencies ?? {}).toEqual({})
    expect(pkg.peerDependencies ?? {}).toEqual({})
    expect(pkg.sideEffects).toBe(false)
    expect(pkg.type).toBe('module')
    // `default` serves require() too (Node >= 20.19 loads this ESM synchronously).
    expect(pkg.exports['.']).toEqual({
      types: './dist/index.d.ts',
      import: './dist/index.js',
      default: './dist/index.js',
    })
    expect(pkg.files).toEqual(['dist', 'src', 'LICENSE'])
    expect(pkg.license).toBe('MIT')
  })

  it.each(sources)('src/%s imports only relative modules, no Node built-ins or globals', (file) => {
    const text = readFileSync(new URL(file, srcDir), 'utf8')
    const specifiers = [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(\s*'([^']+)'/g)].map(
      (m) => m[1] ?? m[2],
    )
    for (const s of specifiers) expect(s).toMatch(/^\.\/[a-z-]+\.js$/)
    expect(text).not.toMatch(/\b(process|Buffer|require|__dirname|globalThis)\b/)
  })
})
