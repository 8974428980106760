// A tiny authoritative DNS server on loopback UDP for tests: answers A, AAAA
// and SRV questions from a table the test changes at will, or misbehaves on
// demand (garbage bytes, SERVFAIL, silence). Never forwards anywhere.

import dgram from 'node:dgram'
import type { AddressInfo } from 'node:net'
import dnsPacket from 'dns-packet'

/** Records of one name. */
export interface DnsRecords {
  a?: string[]
  aaaa?: string[]
  srv?: Array<{ target: string; port: number }>
}

/** How the server answers every question until changed. */
export type DnsMode = 'normal' | 'garbage' | 'servfail' | 'silent'

/** A running test DNS server. */
export interface TestDnsServer {
  /** `127.0.0.1:<port>`, the value for `--dns-server`. */
  readonly address: string
  /** Replaces the records of `name` (case-insensitive); `undefined` removes the name (NXDOMAIN). */
  set(name: string, records: DnsRecords | undefined): void
  mode: DnsMode
  /** Questions received so far. */
  readonly queries: number
  close(): Promise<void>
}

/** Starts a server bound to 127.0.0.1 on a free port. */
export async function startDnsServer(): Promise<TestDnsServer> {
  const table = new Map<string, DnsRecords>()
  const socket = dgram.createSocket('udp4')
  let queries = 0
  const server: TestDnsServer = {
    address: '',
    mode: 'normal',
    get queries() {
      return queries
    },
    set(name, records) {
      if (records === undefined) table.delete(name.toLowerCase())
      else table.set(name.toLowerCase(), records)
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  }
  socket.on('message', (buf, rinfo) => {
    queries++
    let query: dnsPacket.Packet
    try {
      query = dnsPacket.decode(buf)
    } catch {
      return
    }
    const reply = (out: Buffer): void => {
      socket.send(out, rinfo.port, rinfo.address)
    }
    if (server.mode === 'silent') return
    if (server.mode === 'garbage') {
      // The query id (so the client reads it) followed by bytes that are not a DNS message.
      reply(
        Buffer.concat([buf.subarray(0, 2), Buffer.from([0x81, 0x80, 0, 1, 0, 9, 0, 0, 0, 0, 0xff, 0xfe])]),
      )
      return
    }
    const q = query.questions?.[0]
    const base = {
      id: query.id,
      type: 'response' as const,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: query.questions,
    }
    if (server.mode === 'servfail' || q === undefined) {
      reply(dnsPacket.encode({ ...base, flags: dnsPacket.AUTHORITATIVE_ANSWER | 2 }))
      return
    }
    const rec = table.get(q.name.toLowerCase())
    if (rec === undefined) {
      reply(dnsPacket.encode({ ...base, flags: dnsPacket.AUTHORITATIVE_ANSWER | 3 })) // NXDOMAIN
      return
    }
    const answers: dnsPacket.Answer[] = []
    if (q.type === 'A')
      for (const ip of rec.a ?? []) answers.push({ type: 'A', name: q.name, ttl: 1, data: ip })
    if (q.type === 'AAAA')
      for (const ip of rec.aaaa ?? []) answers.push({ type: 'AAAA', name: q.name, ttl: 1, data: ip })
    if (q.type === 'SRV') {
      for (const s of rec.srv ?? []) {
        answers.push({
          type: 'SRV',
          name: q.name,
          ttl: 1,
          data: { priority: 0, weight: 10, port: s.port, target: s.target },
        })
      }
    }
    reply(dnsPacket.encode({ ...base, answers }))
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => resolve())
  })
  Object.defineProperty(server, 'address', { value: `127.0.0.1:${(socket.address() as AddressInfo).port}` })
  return server
}
