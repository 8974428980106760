import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Fresh temp dirs for one test file; `cleanup()` removes every one of them. */
export function tmpDirs(prefix = 'tally-store-') {
  const made: string[] = []
  return {
    async make(): Promise<string> {
      const d = await mkdtemp(join(tmpdir(), prefix))
      made.push(d)
      return d
    },
    async cleanup(): Promise<void> {
      await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })))
    },
  }
}

/** Total bytes of the regular files under `dir`, recursively. */
export async function du(dir: string): Promise<number> {
  let total = 0
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) total += await du(p)
    else if (e.isFile()) total += (await stat(p)).size
  }
  return total
}
