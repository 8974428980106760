import { describe, expect, it } from 'vitest'
import { Pending } from '../../src/resp/pending.js'

describe('Pending', () => {
  it('calls its listener synchronously, from inside resolve, with its tag', () => {
    const p = new Pending<number>()
    const heard: Array<[number, string]> = []
    p.listen((x, tag: string) => heard.push([x.value, tag]), 'slot-1')
    expect(p.settled).toBe(false)
    p.resolve(7)
    expect(heard).toEqual([[7, 'slot-1']])
  })

  it('passes the value through its map; a throwing map rejects', () => {
    const src = new Pending<number>()
    const p = src.map((v) => `v=${v}`)
    let seen = ''
    p.listen((x) => {
      seen = x.value
    }, undefined)
    src.resolve(3)
    expect(seen).toBe('v=3')

    const badSrc = new Pending<number>()
    const bad = badSrc.map(() => {
      throw new RangeError('no')
    })
    badSrc.resolve(1)
    expect(bad.failed).toBe(true)
    expect(bad.error).toBeInstanceOf(RangeError)
  })

  it('maps and notifies at once when already settled; ignores a second settlement', () => {
    const src = Pending.resolved(2)
    const p = src.map((v) => v * 10)
    src.resolve(5)
    src.reject(new Error('late'))
    const heard: number[] = []
    p.listen((x) => heard.push(x.value), undefined)
    expect(heard).toEqual([20])
  })

  it('passes an error unchanged past its map', () => {
    const p = new Pending<number>().map((v) => v + 1)
    const err = new Error('refused')
    p.reject(err)
    expect(p.failed).toBe(true)
    expect(p.error).toBe(err)
    expect(() => p.value).toThrow(TypeError)
  })

  it('takes one map and one listener', () => {
    const p = new Pending<number>()
    p.map((v) => v)
    expect(() => p.map((v) => v)).toThrow(TypeError)
    p.listen(() => {}, undefined)
    expect(() => p.listen(() => {}, undefined)).toThrow(TypeError)
  })

  it('can be awaited like a promise', async () => {
    const ok = new Pending<number>()
    setImmediate(() => ok.resolve(4))
    expect(await ok).toBe(4)
    const ko = new Pending<number>()
    setImmediate(() => ko.reject(new Error('nope')))
    await expect(ko).rejects.toThrow('nope')
  })
})
