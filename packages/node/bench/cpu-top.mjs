// Summarises a V8 .cpuprofile (node --cpu-prof): busy (non-idle) time and
// the functions with the most self time, as a share of all samples, with
// their file and line. With `requests`, also busy µs per request.
// Usage: node bench/cpu-top.mjs <file.cpuprofile> [n] [requests]

import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

/** The top `n` functions by self time of profile `file` ({ fn, selfPct }), the idle share and the busy ms. Reads the file synchronously. */
export function cpuTop(file, n = 20) {
  const p = JSON.parse(readFileSync(file, 'utf8'))
  const byId = new Map(p.nodes.map((x) => [x.id, x]))
  const self = new Map()
  let busyUs = 0
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]
    self.set(id, (self.get(id) ?? 0) + 1)
    if (byId.get(id).callFrame.functionName !== '(idle)') busyUs += p.timeDeltas[i] ?? 0
  }
  const total = p.samples.length
  const agg = new Map()
  let idle = 0
  for (const [id, count] of self) {
    const f = byId.get(id).callFrame
    if (f.functionName === '(idle)') {
      idle += count
      continue
    }
    const where = f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : ''
    const key = `${f.functionName || '(anonymous)'} ${where}`
    agg.set(key, (agg.get(key) ?? 0) + count)
  }
  const top = [...agg.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, c]) => ({ fn: key, selfPct: Math.round((c / total) * 1000) / 10 }))
  return {
    samples: total,
    idlePct: Math.round((idle / total) * 1000) / 10,
    busyMs: Math.round(busyUs / 1000),
    top,
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = cpuTop(process.argv[2], Number(process.argv[3] ?? 20))
  const requests = Number(process.argv[4] ?? 0)
  const per = requests > 0 ? `, ${((r.busyMs * 1000) / requests).toFixed(2)} µs busy per request` : ''
  console.log(`samples ${r.samples}, idle ${r.idlePct}%, busy ${r.busyMs} ms${per}`)
  for (const t of r.top) console.log(`${String(t.selfPct).padStart(5)}%  ${t.fn}`)
}
