import { describe, expect, it } from 'vitest'
import {
  HANDSHAKE_VERSION,
  HELLO_BYTES,
  hello,
  PROOF_BYTES,
  proof,
  verifyProof,
} from '../../src/wire/handshake.js'

const key = Buffer.from('cluster-key-1')

describe('handshake', () => {
  it('a proof made with the key for this HELLO verifies', () => {
    const h = hello()
    expect(h.length).toBe(HELLO_BYTES)
    expect(h[0]).toBe(HANDSHAKE_VERSION)
    const p = proof(key, h) as Buffer
    expect(p.length).toBe(PROOF_BYTES)
    expect(verifyProof(key, h, p)).toBe(true)
  })

  it('refuses another key, another HELLO (a replayed proof), a truncated proof, another version', () => {
    const h = hello()
    const p = proof(key, h) as Buffer
    expect(verifyProof(Buffer.from('cluster-key-2'), h, p)).toBe(false)
    expect(verifyProof(key, hello(), p)).toBe(false)
    expect(verifyProof(key, h, p.subarray(0, 31))).toBe(false)
    const old = Buffer.from(h)
    old[0] = 1
    expect(proof(key, old)).toBeNull()
    expect(verifyProof(key, old, p)).toBe(false)
  })
})
