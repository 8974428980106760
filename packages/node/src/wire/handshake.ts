// Proof of the cluster key before any frame: a challenge/response at the
// start of every gossip connection, when a cluster key is set.
//
//   acceptor ── HELLO: version (1 byte) ‖ nonce (16 random bytes) ──▶ dialer
//   acceptor ◀── PROOF: HMAC-SHA256(key, "tally-hello" ‖ HELLO) (32 bytes) ── dialer
//
// The acceptor buffers at most PROOF_BYTES from the dialer until the proof
// checks out, so a peer without the key can make it hold 32 bytes, never a
// frame. A fresh nonce per connection makes a recorded proof useless on
// another connection. Without a cluster key there is no handshake.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** Handshake format version (first byte of HELLO). */
export const HANDSHAKE_VERSION = 2
/** Bytes of the acceptor's HELLO. */
export const HELLO_BYTES = 17
/** Bytes of the dialer's PROOF. */
export const PROOF_BYTES = 32
const LABEL = Buffer.from('tally-hello', 'utf8')

/** A fresh HELLO (version byte and 16 random bytes). */
export function hello(): Buffer {
  return Buffer.concat([Buffer.of(HANDSHAKE_VERSION), randomBytes(HELLO_BYTES - 1)])
}

/**
 * The PROOF answering `hello` with `key`, or null when `hello` is not a
 * HELLO of this version (the acceptor runs another version). Pure.
 */
export function proof(key: Buffer, hello: Buffer): Buffer | null {
  if (hello.length !== HELLO_BYTES || hello[0] !== HANDSHAKE_VERSION) return null
  return createHmac('sha256', key).update(LABEL).update(hello).digest()
}

/** Whether `got` is the PROOF of `key` for `hello`, compared in constant time. Pure. */
export function verifyProof(key: Buffer, hello: Buffer, got: Buffer): boolean {
  const want = proof(key, hello)
  return want !== null && got.length === PROOF_BYTES && timingSafeEqual(got, want)
}
