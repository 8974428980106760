// Test helpers for Prometheus text: read one sample, find promtool.
import { spawnSync } from 'node:child_process'

/** Path of `promtool` (Debian package `prometheus`), or undefined when it is not installed. */
export const promtool: string | undefined = (() => {
  const r = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' })
  const path = r.stdout.trim()
  return r.status === 0 && path !== '' ? path : undefined
})()

/**
 * The value of the sample written exactly as `series` (name plus labels in
 * exposition order) in `text`, or undefined when absent.
 */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1))
  }
  return undefined
}

/**
 * prom-client's default process metrics that promtool's linter flags (gauges
 * named `_total`, a known upstream naming of prom-client): not ours to rename.
 */
const KNOWN_DEFAULT_LINT =
  /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/

/**
 * Runs `promtool check metrics` on `text` (blocking; needs {@link promtool})
 * and returns every problem it reports, less the known lint of prom-client's
 * default metrics. A parse error is always returned. Throws when promtool
 * is not installed.
 */
export function promtoolProblems(text: string): string[] {
  if (promtool === undefined) throw new Error('promtool is not installed (Debian package prometheus)')
  const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' })
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim())
  const problems = lines.filter((l) => l !== '' && !KNOWN_DEFAULT_LINT.test(l))
  // Known lint alone makes promtool exit 1: that is a pass here; a silent failure is not.
  if (r.status !== 0 && problems.length === 0 && !lines.some((l) => KNOWN_DEFAULT_LINT.test(l)))
    problems.push(`promtool exited ${r.status}`)
  return problems
}
