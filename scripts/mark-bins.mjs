// tsc writes files without the execute bit; npm links each package's `bin`
// into node_modules/.bin, so make those entry files executable after a build.
import { chmodSync, existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
for (const ws of workspaces) {
  const pkg = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8'))
  const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {})
  for (const bin of bins) {
    const file = join(root, ws, bin)
    if (existsSync(file)) chmodSync(file, 0o755)
  }
}
