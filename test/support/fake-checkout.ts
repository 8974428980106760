// A stand-in checkout for testing run-cluster.sh's own logic (install and
// build decisions, progress, interrupts) in seconds and without touching the
// real repository: the real scripts, copied into a temporary directory next
// to a tiny tree of packages whose "bins" are stand-ins, and an `npm` that
// only records how it was called.
//
// The stand-in bin of package <pkg> (discovery, node, gateway) does what the
// environment variable FAKE_<PKG> says:
//   serve (default)  listen on its --port / --http-port (0: any free port, logged
//                    as the real bins do) and answer 200 to every GET
//   hang             stay up without listening (never healthy)
//   exit             exit at once
// The stand-in npm appends "npm <its arguments>" to FAKE_NPM_LOG, sleeps
// FAKE_NPM_SECONDS (and, with FAKE_NPM_UNTIL_PROGRESS=FILE, until FILE shows
// its progress line), and then does what the real one leaves behind: `ci` and
// `install` write node_modules/.package-lock.json, `run build` rewrites every
// package's tsconfig.tsbuildinfo unless FAKE_BUILD_NOOP=1 (a build tsc found
// nothing to do for). The stand-in node_modules/.bin/tsc appends
// "tsc <its arguments>" to the same log and answers `-b --dry` the way tsc
// does: every project up to date when FAKE_TSC_DRY=up-to-date, else one that
// "would build".

import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { ROOT } from './components.ts'

export const PACKAGES = ['crdt', 'node', 'discovery', 'gateway'] as const

const FAKE_BIN = `// Stand-in for a Tally bin (see test/support/fake-checkout.ts).
const path = require('node:path')
const pkg = path.basename(path.dirname(__dirname))
const mode = process.env['FAKE_' + pkg.toUpperCase()] || 'serve'
const argv = process.argv.slice(2)
const flag = (name) => {
  const i = argv.indexOf('--' + name)
  return i === -1 ? undefined : argv[i + 1]
}
if (mode === 'serve') {
  const port = Number(flag('http-port') || flag('port'))
  const server = require('node:http')
    .createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ status: 'ok', name: 'default', value: 0 }))
    })
  // Like the real bins: one "listening" log line with the port it bound.
  server.listen(port, '127.0.0.1', () =>
    console.log(JSON.stringify({ msg: 'listening', address: 'http://127.0.0.1:' + server.address().port })),
  )
} else if (mode === 'hang') {
  setInterval(() => {}, 1 << 30)
}
`

const FAKE_NPM = `#!/usr/bin/env bash
echo "npm $*" >>"$FAKE_NPM_LOG"
sleep "\${FAKE_NPM_SECONDS:-0}"
# FAKE_NPM_UNTIL_PROGRESS=FILE: keep going until FILE (the script's output)
# shows this step's progress line, as a long install or build would (60 s at most).
if [[ -n \${FAKE_NPM_UNTIL_PROGRESS:-} ]]; then
  case $1 in ci | install) step='installing dependencies' ;; *) step='building' ;; esac
  for ((i = 0; i < 600; i++)); do
    grep -q "$step.* … [0-9]*s" "$FAKE_NPM_UNTIL_PROGRESS" 2>/dev/null && break
    sleep 0.1
  done
fi
case $1 in
  ci | install) mkdir -p node_modules && touch node_modules/.package-lock.json ;;
  run) if [[ $2 == build && \${FAKE_BUILD_NOOP:-0} != 1 ]]; then touch packages/*/tsconfig.tsbuildinfo; fi ;;
esac
`

const FAKE_TSC = `#!/usr/bin/env bash
echo "tsc $*" >>"$FAKE_NPM_LOG"
if [[ \${FAKE_TSC_DRY:-build} == up-to-date ]]; then
  echo "Project 'packages/node/tsconfig.json' is up to date"
else
  echo "A non-dry build would build project 'packages/node/tsconfig.json'"
fi
`

/** A stand-in checkout: where it is and how to run its scripts. */
export interface FakeCheckout {
  /** The checkout's root (run-cluster.sh is here). */
  readonly root: string
  /** Where the stand-in npm and tsc record one line per call ("npm …", "tsc …"). */
  readonly npmLog: string
  /** PATH with the stand-in npm first, and TALLY_RUN_DIR inside the checkout. */
  readonly env: NodeJS.ProcessEnv
  /** Sets the modification time of `rel` (relative to root) to `ageSeconds` ago. */
  age(rel: string, ageSeconds: number): void
  /** Removes the checkout. */
  dispose(): void
}

/**
 * Builds a stand-in checkout in which everything looks installed and built:
 * sources 1000 s old, package-lock.json 900 s, node_modules 800 s, the
 * packages' tsconfig.tsbuildinfo 700 s, and no build stamp of the script's own
 * (as after `npm install-ci-test`).
 */
export function fakeCheckout(): FakeCheckout {
  const root = mkdtempSync(join(tmpdir(), 'tally-checkout-'))
  const write = (rel: string, text: string): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), text)
  }
  const age = (rel: string, ageSeconds: number): void => {
    const t = Date.now() / 1000 - ageSeconds
    utimesSync(join(root, rel), t, t)
  }
  for (const f of ['run-cluster.sh', 'monitor.sh', 'scripts'])
    cpSync(join(ROOT, f), join(root, f), { recursive: true })
  write('package.json', '{ "private": true }\n')
  write('package-lock.json', '{}\n')
  write('tsconfig.json', '{}\n')
  write('tsconfig.base.json', '{}\n')
  const sources = ['package.json', 'tsconfig.json', 'tsconfig.base.json']
  for (const pkg of PACKAGES) {
    for (const f of ['src/index.ts', 'tsconfig.json', 'package.json']) {
      write(`packages/${pkg}/${f}`, '{}\n')
      sources.push(`packages/${pkg}/${f}`)
    }
    sources.push(`packages/${pkg}/src`)
    write(`packages/${pkg}/tsconfig.tsbuildinfo`, '{}\n')
    if (pkg !== 'crdt') write(`packages/${pkg}/dist/tally-${pkg}.js`, FAKE_BIN)
  }
  write('node_modules/.package-lock.json', '{}\n')
  write('bin/npm', FAKE_NPM)
  chmodSync(join(root, 'bin/npm'), 0o755)
  write('node_modules/.bin/tsc', FAKE_TSC)
  chmodSync(join(root, 'node_modules/.bin/tsc'), 0o755)
  for (const f of sources) age(f, 1000)
  age('package-lock.json', 900)
  age('node_modules/.package-lock.json', 800)
  for (const pkg of PACKAGES) age(`packages/${pkg}/tsconfig.tsbuildinfo`, 700)
  const npmLog = join(root, 'npm.log')
  writeFileSync(npmLog, '')
  return {
    root,
    npmLog,
    env: {
      ...process.env,
      PATH: `${join(root, 'bin')}:${process.env.PATH}`,
      TALLY_RUN_DIR: join(root, 'run'),
      FAKE_NPM_LOG: npmLog,
    },
    age,
    dispose: () => rmSync(root, { recursive: true, force: true }),
  }
}
