#!/usr/bin/env node
// Regenerates docs/dashboard.png: starts a small cluster on OS-chosen
// loopback ports (discovery, 3 tally-node processes, the gateway, from the
// build), writes through the gateway at a varying rate, kills one node after
// 30 s, screenshots the dashboard with headless Chromium (Debian's
// /usr/bin/chromium through playwright-core) and stops everything it started.
// Usage: npm run build && node scripts/dashboard-screenshot.mjs [out.png]

import { fileURLToPath } from 'node:url'
import {
  Cleanup,
  killProc,
  requireBuilt,
  sleepMs,
  spawnProc,
  startTallyNode,
  tempDir,
  until,
  waitForLine,
  waitHealthy,
} from '@tally/kit/testing'
import { chromium } from 'playwright-core'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = process.argv[2] ?? `${root}docs/dashboard.png`
const DISCOVERY_BIN = `${root}packages/discovery/dist/server.js`
const GATEWAY_BIN = `${root}packages/gateway/dist/server.js`
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const cleanup = new Cleanup()
try {
  requireBuilt(DISCOVERY_BIN)
  requireBuilt(GATEWAY_BIN)
  const dir = await tempDir(cleanup, 'tally-shot-')
  const disc = spawnProc(cleanup, 'discovery', DISCOVERY_BIN, ['--port', '0', '--ttl', '3000'])
  const discUrl = await waitForLine(disc, (r) => (r.msg === 'discovery listening' ? r.address : undefined))
  const nodes = []
  for (let i = 1; i <= 3; i++) {
    const p = await startTallyNode(cleanup, `node-${i}`, `${dir}/node-${i}`, ['--discovery', String(discUrl)])
    await waitHealthy(p)
    nodes.push(p)
  }
  const gw = spawnProc(cleanup, 'gateway', GATEWAY_BIN, [
    '--port',
    '0',
    '--discovery',
    String(discUrl),
    '--discovery-interval',
    '500',
  ])
  const gwUrl = await waitForLine(gw, (r) => (r.msg === 'tally-gateway listening' ? r.address : undefined))
  await until(async () => ((await (await fetch(`${gwUrl}/health`)).json()).usable ?? 0) === 3, {
    what: 'the gateway to use 3 nodes',
    timeoutMs: 30_000,
  })
  console.log(`cluster up; gateway ${gwUrl}; writing for 42 s, node-3 killed after 30 s`)

  const names = [
    'default',
    'page-views',
    'signups',
    'checkout',
    'items:acme',
    'items:globex',
    'items:initech',
  ]
  const write = (name, amount) =>
    fetch(`${gwUrl}/counters/${name}/increment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount }),
    }).then((r) => r.body?.cancel())
  const start = Date.now()
  let writing = true
  // A wave of load, 5 to ~45 requests per 100 ms slice, until the shot is taken; node-3 is killed at 30 s.
  const load = (async () => {
    let killed = false
    let k = 0
    while (writing) {
      const t = (Date.now() - start) / 1000
      const burst = Math.round(25 + 20 * Math.sin(t / 4))
      await Promise.all(Array.from({ length: burst }, () => write(names[k++ % names.length], 1 + (k % 3))))
      if (!killed && t > 30) {
        await killProc(nodes[2])
        killed = true
        console.log('node-3 killed')
      }
      await sleepMs(100)
    }
  })()
  await sleepMs(42_000)

  const profile = await tempDir(cleanup, 'tally-shot-chromium-')
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 1000 },
  })
  cleanup.add(() => ctx.close())
  const page = await ctx.newPage()
  await page.goto(gwUrl)
  await page.waitForSelector('tr[data-node="node-3"] .pill.down', { timeout: 30_000 })
  await sleepMs(1500)
  await page.screenshot({ path: out, fullPage: true })
  console.log(`wrote ${out}`)
  writing = false
  await load
} finally {
  await cleanup.run()
}
