// The error catalogs and their documentation agree: every code a component
// can answer is in its README's error table with the same HTTP status, and
// every code a README documents exists in the component's table (as fastify
// tests lib/errors.js against its docs).

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ERROR_STATUS as DISCOVERY } from '../packages/discovery/src/errors.ts'
import { ERROR_STATUS as GATEWAY } from '../packages/gateway/src/errors.ts'
import { SHARED_ERROR_STATUS } from '../packages/kit/src/index.ts'
import { ERROR_STATUS as NODE } from '../packages/node/src/http/error-status.ts'
import { COMPONENTS, ROOT } from './support/components.ts'

/**
 * `| \`TALLY_X\` | 400 | …` rows of a README: code → documented status. A
 * status written `4xx` marks a code whose status is relayed from a node's
 * answer (no fixed status): those go to `relayed`.
 */
function documented(readme: string): { fixed: Map<string, number>; relayed: Set<string> } {
  const fixed = new Map<string, number>()
  const relayed = new Set<string>()
  for (const m of readme.matchAll(/^\|\s*`(TALLY_[A-Z_]+)`\s*\|\s*(\d{3}|[45]xx)\s*\|/gm)) {
    const [, code, status] = m as unknown as [string, string, string]
    expect(fixed.has(code) || relayed.has(code), `${code} documented twice`).toBe(false)
    if (status.endsWith('xx')) relayed.add(code)
    else fixed.set(code, Number(status))
  }
  return { fixed, relayed }
}

/** Every `'TALLY_…'` string literal in a package's sources. */
function literalCodes(pkg: string): Set<string> {
  const out = new Set<string>()
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f)
      if (statSync(p).isDirectory()) walk(p)
      else if (p.endsWith('.ts'))
        for (const m of readFileSync(p, 'utf8').matchAll(/'(TALLY_[A-Z_]+)'/g)) out.add(m[1] as string)
    }
  }
  walk(join(ROOT, 'packages', pkg, 'src'))
  return out
}

// Codes in the sources that are not HTTP answers: settings' environment
// variables, the config error of a bad flag (exit 2), and the store's
// start-up refusals (the process does not start; the node README lists them
// in their own table).
const NOT_HTTP = new Set([
  'TALLY_CONFIG_INVALID',
  'TALLY_DATA_DIR_LOCKED',
  'TALLY_DATA_DIR_UNREADABLE',
  'TALLY_DATA_DIR_MISMATCH',
  'TALLY_WAL_CORRUPT',
  'TALLY_STORE_CLOSED',
])

const CASES = [
  { pkg: 'node', table: NODE },
  { pkg: 'gateway', table: GATEWAY },
  { pkg: 'discovery', table: DISCOVERY },
] as const

describe.each(CASES)('$pkg error catalog', ({ pkg, table }) => {
  const readme = readFileSync(join(ROOT, 'packages', pkg, 'README.md'), 'utf8')
  const { fixed: docs, relayed } = documented(readme)
  const envNames = new Set(COMPONENTS[pkg].settings.map((s) => s.env))

  it('documents every code it can answer, with the same status', () => {
    const missing = Object.entries(table).filter(([code, status]) => docs.get(code) !== status)
    expect(missing.map(([c, s]) => `${c} ${s} (README: ${docs.get(c) ?? 'absent'})`)).toEqual([])
  })

  it('answers every code its README documents', () => {
    expect([...docs.keys()].filter((code) => table[code] === undefined)).toEqual([])
    // A relayed code has no status of its own, so it is not in the table.
    expect([...relayed].filter((code) => table[code] !== undefined)).toEqual([])
  })

  it('has every code its sources name in its table', () => {
    const unlisted = [...literalCodes(pkg)].filter(
      (c) => table[c] === undefined && !relayed.has(c) && !envNames.has(c) && !NOT_HTTP.has(c),
    )
    expect(unlisted).toEqual([])
  })

  it('gives the shared codes their one shared status', () => {
    for (const [code, status] of Object.entries(SHARED_ERROR_STATUS))
      if (table[code] !== undefined) expect(table[code], code).toBe(status)
  })
})
