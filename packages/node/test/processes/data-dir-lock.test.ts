import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { Cleanup, tempDir } from '@tally/kit/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { LevelStore } from '../../src/storage/level-store.js'
import { isStoreError } from '../../src/storage/store-errors.js'

const cleanup = new Cleanup()
const children: ChildProcess[] = []
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      c.kill('SIGKILL')
      await once(c, 'exit')
    }
  }
  await cleanup.run()
})

const pkgDir = fileURLToPath(new URL('..', import.meta.url))

/** Another process holding `<dir>/db` open (LevelDB takes its LOCK file), until killed. */
async function holdLock(dir: string): Promise<ChildProcess> {
  const script = `
    import { Level } from 'level'
    const db = new Level(${JSON.stringify(`${dir}/db`)})
    await db.open()
    process.stdout.write('ready\\n')
    setInterval(() => {}, 1000)
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: pkgDir,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer]
  expect(chunk.toString()).toBe('ready\n')
  return child
}

describe('data dir lock', () => {
  it('a second process on the same data dir fails with TALLY_DATA_DIR_LOCKED; works once it is gone', async () => {
    const dir = await tempDir(cleanup, 'tally-store-')
    const holder = await holdLock(dir)
    const err = await new LevelStore({ dataDir: dir }).open('n1').catch((e: unknown) => e)
    expect(isStoreError(err, 'TALLY_DATA_DIR_LOCKED')).toBe(true)
    expect((err as Error).message).toMatch(/locked: another tally-node process/)
    expect((err as { path: string }).path).toBe(dir)

    holder.kill('SIGKILL')
    await once(holder, 'exit')
    const store = new LevelStore({ dataDir: dir })
    const r = await store.open('n1')
    expect(r.identity.nodeId).toBe('n1')
    await store.close()
  })
})
