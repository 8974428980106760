// The state of one RESP connection, as CLIENT INFO shows it.

import type { Proto } from './reply.js'

/** Per-connection state. Mutated by the connection commands (HELLO, AUTH, CLIENT, RESET). */
export interface Session {
  /** Connection id (CLIENT ID), unique within the listener. */
  readonly id: number
  /** Peer address `ip:port`. */
  readonly addr: string
  /** Local address `ip:port`. */
  readonly laddr: string
  /** When the connection was accepted, ms since epoch. */
  readonly since: number
  proto: Proto
  /** False until AUTH succeeds when the listener has a password; always true otherwise. */
  authed: boolean
  /** CLIENT SETNAME / HELLO SETNAME; '' when unset. */
  name: string
  libName: string
  libVer: string
  /** Set by QUIT: close once the replies before it are written. */
  quitting: boolean
}

/** A fresh session for a new connection. */
export function newSession(id: number, addr: string, laddr: string, needsAuth: boolean): Session {
  return {
    id,
    addr,
    laddr,
    since: Date.now(),
    proto: 2,
    authed: !needsAuth,
    name: '',
    libName: '',
    libVer: '',
    quitting: false,
  }
}

/** The CLIENT INFO / CLIENT LIST line of `s` (Redis field names, the ones that apply). */
export function clientInfoLine(s: Session, now: number): string {
  const age = Math.floor((now - s.since) / 1000)
  return `id=${s.id} addr=${s.addr} laddr=${s.laddr} name=${s.name} age=${age} db=0 resp=${s.proto} lib-name=${s.libName} lib-ver=${s.libVer}\n`
}
