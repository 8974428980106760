#!/usr/bin/env node
// The `tally-gateway` command: committed (and executable) so npm links it at install
// time, before anything is built. It runs the bundled server (dist/tally-gateway.js,
// which `npm run build` at the repository root makes), or says how to build it
// when it is missing. Exit code 1 in that case.

import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const entry = new URL('../dist/tally-gateway.js', import.meta.url)
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    `tally-gateway: ${fileURLToPath(entry)} is missing: run npm run build (at the repository root) first\n`,
  )
  process.exit(1)
}
await import(entry.href)
