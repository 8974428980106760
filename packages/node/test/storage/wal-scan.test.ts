import { describe, expect, it } from 'vitest'
import { encodeBatch, type LogOp, type ReadOp, walKey } from '../../src/storage/record-codec.js'
import { isStoreError } from '../../src/storage/store-errors.js'
import { scanWal } from '../../src/storage/wal-scan.js'

const op = (i: number): LogOp => ({
  kind: 'local',
  delta: { ranges: [['a.1', i - 1, i]], entries: [['x', 'a.1', i, 0, i]] },
})
// Seq of the operation a record holds (a compact one is read back unexpanded).
const seqOf = (o: ReadOp): number =>
  o.kind === 'one' ? o.s : o.kind === 'marks' ? -1 : o.delta.entries[0]![4]
const rec = (seq: number): [string, Uint8Array] => [walKey(seq), encodeBatch(seq, [op(seq)])]
const garbage = (seq: number): [string, Uint8Array] => [walKey(seq), new Uint8Array([9, 9, 9, 9, 9, 9])]

async function* from(rows: Array<[string, Uint8Array]>) {
  yield rows
}

async function scan(
  rows: Array<[string, Uint8Array]>,
  covered = 0,
  policy: 'refuse' | 'truncate' = 'refuse',
) {
  const seen: number[] = []
  const res = await scanWal(
    from(rows),
    covered,
    (ops) => {
      for (const o of ops) if (o.kind !== 'marks') seen.push(seqOf(o))
      return null
    },
    policy,
  )
  return { res, seen }
}

describe('scanWal', () => {
  it('applies contiguous batches after the snapshot and reports stale ones', async () => {
    const { res, seen } = await scan([rec(1), rec(2), rec(3), rec(4)], 2)
    expect(seen).toEqual([3, 4])
    expect(res).toMatchObject({ last: 4, ops: 2, cut: [], stale: [walKey(1), walKey(2)], warnings: [] })
  })

  it('cuts a damaged tail, keeps everything before it, and warns', async () => {
    const { res, seen } = await scan([rec(1), rec(2), garbage(3), garbage(4)])
    expect(seen).toEqual([1, 2])
    expect(res.last).toBe(2)
    expect(res.cut).toEqual([walKey(3), walKey(4)])
    expect(res.warnings[0]).toMatch(/damaged at w:0+3 \(checksum mismatch/)
  })

  it('treats a record whose content is refused as damaged', async () => {
    const res = await scanWal(from([rec(1), rec(2)]), 0, (ops) =>
      seqOf(ops[0]!) === 2 ? 'invalid delta' : null,
    )
    expect(res.last).toBe(1)
    expect(res.cut).toEqual([walKey(2)])
  })

  it('refuses damage followed by an intact record, naming the key', async () => {
    const err = await scan([rec(1), garbage(2), rec(3)]).catch((e: unknown) => e)
    expect(isStoreError(err, 'TALLY_WAL_CORRUPT')).toBe(true)
    expect((err as Error).message).toMatch(/w:0+2.*checksum mismatch/)
  })

  it('refuses a missing batch in the middle', async () => {
    const err = await scan([rec(1), rec(3)]).catch((e: unknown) => e)
    expect(isStoreError(err, 'TALLY_WAL_CORRUPT')).toBe(true)
    expect((err as Error).message).toMatch(/batch 2 is missing/)
  })

  it("cuts from the damage on under policy 'truncate'", async () => {
    const { res, seen } = await scan([rec(1), garbage(2), rec(3), rec(5)], 0, 'truncate')
    expect(seen).toEqual([1])
    expect(res.cut).toEqual([walKey(2), walKey(3), walKey(5)])
    expect(res.warnings).toHaveLength(1)
  })
})
