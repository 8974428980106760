// The dashboard in a real browser: headless Chromium against a gateway in
// front of three real tally-node processes. Writes go through the gateway,
// then one node is killed: the page must show it down with a reason, the
// verdict must change, and the writes chart must have a drawn path. A
// screenshot is saved in a temp dir of its own, kept for inspection (its path is printed).

import { mkdtemp } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cleanup, until } from '@tally/kit/testing'
import type { FastifyInstance } from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { hasChromium, launchChromium } from './support/browser.js'
import { type RealNode, startCluster } from './support/cluster.js'

// Page-side predicates run in the browser; the tests are type-checked without the DOM library.
interface PageNode {
  textContent: string | null
}
declare const document: {
  getElementById(id: string): PageNode | null
  querySelector(selector: string): PageNode | null
}

const cleanup = new Cleanup()
afterAll(() => cleanup.run())

describe('dashboard in headless Chromium', () => {
  it.skipIf(!hasChromium)(
    'shows a killed node down with its reason, a changed verdict and drawn charts (needs /usr/bin/chromium; skipped without it)',
    async () => {
      const { nodes, stop } = await startCluster(3)
      cleanup.add(stop)
      const app: FastifyInstance = await buildApp({
        nodes: nodes.map((n: RealNode) => n.url),
        discovery: [],
        strategy: 'round-robin',
        requestTimeoutMs: 1000,
        healthIntervalMs: 200,
        discoveryIntervalMs: 1000,
        maxAttempts: 3,
        deadlineMs: 4000,
        sampleIntervalMs: 500,
      })
      cleanup.add(() => app.close())
      await app.listen({ host: '127.0.0.1', port: 0 })
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`

      // Writes through the gateway, over a few samples, so the charts have something to draw.
      const write = async (name: string) => {
        const r = await app.inject({ method: 'POST', url: `/counters/${name}/increment` })
        expect(r.statusCode, r.body).toBe(200)
      }
      const started = Date.now()
      while (Date.now() - started < 2500) {
        await write('page-views')
        await write('items:acme')
      }

      const ctx = await launchChromium(cleanup)
      const page = await ctx.newPage()
      const pageErrors: string[] = []
      page.on('pageerror', (e) => pageErrors.push(String(e)))
      await page.goto(url)
      // On a loaded machine a health check can miss its 1 s timeout and eject
      // a node for a while: wait for the whole picture (converged, n3 healthy)
      // before killing n3, rather than assume it at first sight.
      await page.waitForFunction(
        () =>
          document.getElementById('verdict-text')?.textContent?.startsWith('✓ Converged') &&
          document.querySelector('tr[data-node="n3"] .pill')?.textContent === 'healthy',
        undefined,
        {
          timeout: 30_000,
        },
      )
      const verdictBefore = await page.locator('#verdict').textContent()
      // User counters and tenant items are listed apart.
      await page.waitForFunction(
        () => document.getElementById('tenants')?.textContent?.includes('acme'),
        undefined,
        {
          timeout: 10_000,
        },
      )
      expect(await page.locator('#counters').textContent()).toContain('page-views')
      expect(await page.locator('#counters').textContent()).not.toContain('items:acme')

      await nodes[2]!.kill()
      await page.waitForFunction(
        () => document.querySelector('tr[data-node="n3"] .pill')?.textContent === 'down',
        undefined,
        { timeout: 30_000 },
      )
      const reason = (await page.locator('tr[data-node="n3"] .reason').textContent()) ?? ''
      expect(reason.length).toBeGreaterThan(0)
      expect(reason).toMatch(/ECONNREFUSED|health check|poll/)
      await until(async () => (await page.locator('#verdict').textContent()) !== verdictBefore, {
        what: 'the verdict to change',
        timeoutMs: 10_000,
      })
      expect(await page.locator('#down-count').textContent()).toBe('1')

      const d = await page.locator('#chart-writes path.line').first().getAttribute('d')
      expect(d ?? '').toMatch(/^M[\d.]+ [\d.]+L/)
      const spread = await page.locator('#chart-spread path.line').getAttribute('d')
      expect(spread ?? '').toMatch(/^M/)

      // Kept after the run (not cleaned up) so the printed path can be opened.
      const shot = join(await mkdtemp(join(tmpdir(), 'tally-dashboard-')), 'dashboard.png')
      await page.screenshot({ path: shot, fullPage: true })
      console.log(`dashboard screenshot: ${shot}`)
      expect(pageErrors).toEqual([])
    },
    120_000,
  )
})
