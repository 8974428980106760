import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Cleanup } from './cleanup.js'

/** Creates a fresh directory under the OS temp dir; `cleanup` removes it (recursively). */
export async function tempDir(cleanup: Cleanup, prefix = 'tally-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  cleanup.add(() => rm(dir, { recursive: true, force: true }))
  return dir
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
