// Keeps package-lock.json installable with `npm ci` on every platform.
//
// npm writes a lockfile entry for a platform-specific optional dependency
// (e.g. @biomejs/cli-darwin-arm64) only when the registry serves it; a mirror
// that carries just the local platform's binaries leaves those entries out,
// and `npm ci` then refuses the lockfile as out of sync ("Missing: … from lock
// file"). This adds the missing entries, tagged with the os/cpu/libc their
// names declare, so npm skips them where they do not apply and fetches them
// where they do. Run it after changing dependencies: `npm run lock:platforms`.
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const lockPath = join(root, 'package-lock.json')
const lock = JSON.parse(readFileSync(lockPath, 'utf8'))
const PLATFORM =
  /-(android|darwin|linux|win32|freebsd|openbsd|sunos|aix)-(x64|arm64|arm|ia32|ppc64|s390x|riscv64|loong64)(-(musl|gnu|msvc))?$/

let added = 0
for (const [path, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${dep}`
    if (lock.packages[target] || lock.packages[`${path}/${target}`]) continue
    const m = PLATFORM.exec(dep)
    if (!m || !/^\d+\.\d+\.\d+/.test(version)) continue
    lock.packages[target] = {
      version,
      cpu: [m[2]],
      ...(entry.dev ? { dev: true } : {}),
      ...(m[4] === 'musl' || m[4] === 'gnu' ? { libc: [m[4] === 'musl' ? 'musl' : 'glibc'] } : {}),
      optional: true,
      os: [m[1]],
    }
    added++
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) =>
    a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  ),
)
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`lock-platforms: added ${added} platform entr${added === 1 ? 'y' : 'ies'}`)
