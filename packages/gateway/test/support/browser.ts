// Headless Chromium for dashboard tests: Debian's /usr/bin/chromium driven
// through playwright-core (no browser download), a fresh empty profile dir,
// no network beyond what the page asks for.
import { existsSync } from 'node:fs'
import type { Cleanup } from '@tally/kit/testing'
import { tempDir } from '@tally/kit/testing'
import { type BrowserContext, chromium } from 'playwright-core'

/** Debian's chromium binary. */
export const CHROMIUM = '/usr/bin/chromium'

/** True when {@link CHROMIUM} is installed (Debian package `chromium`). */
export const hasChromium = existsSync(CHROMIUM)

/** The flags every run uses: headless, no sandbox (root in CI), no GPU, nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Launches Chromium with a new empty user-data dir (a temp dir `cleanup`
 * removes) and closes it on cleanup. Rejects when the browser cannot start.
 */
export async function launchChromium(cleanup: Cleanup): Promise<BrowserContext> {
  const profile = await tempDir(cleanup, 'tally-chromium-')
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 1000 },
  })
  cleanup.add(() => ctx.close())
  return ctx
}
