// A raw RESP client for tests: sends exact bytes, reads exact replies, sees
// the connection close. Deliberately independent of the server's parser.

import { connect, type Socket } from 'node:net'

/** A decoded reply: errors are `{ error }`, nulls `null`, maps `Map`, verbatim strings their text. */
export type Decoded = string | number | null | { error: string } | Decoded[] | Map<Decoded, Decoded>

/** A connection to a RESP server speaking raw bytes. */
export class RawResp {
  readonly socket: Socket
  #buf = Buffer.alloc(0)
  #waiters: Array<() => void> = []
  #closed = false

  private constructor(socket: Socket) {
    this.socket = socket
    socket.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d])
      this.#wake()
    })
    socket.on('close', () => {
      this.#closed = true
      this.#wake()
    })
    socket.on('error', () => {})
  }

  /** Connects to 127.0.0.1:`port`. */
  static async open(port: number, host = '127.0.0.1'): Promise<RawResp> {
    const socket = connect({ port, host })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    return new RawResp(socket)
  }

  #wake(): void {
    const w = this.#waiters
    this.#waiters = []
    for (const f of w) f()
  }

  /** True once the server closed the connection (and every byte before it was read). */
  get closed(): boolean {
    return this.#closed
  }

  /** Sends raw bytes. */
  send(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes)
  }

  /** Sends one command as a RESP array of bulk strings. */
  command(...args: Array<string | number>): void {
    this.send(encodeCommand(args.map(String)))
  }

  /** Sends a command and reads its reply. */
  async call(...args: Array<string | number>): Promise<Decoded> {
    this.command(...args)
    return this.read()
  }

  /** Next reply; rejects when the connection closes first or after `timeoutMs`. */
  async read(timeoutMs = 5000): Promise<Decoded> {
    const end = Date.now() + timeoutMs
    for (;;) {
      const r = decode(this.#buf, 0)
      if (r !== undefined) {
        this.#buf = this.#buf.subarray(r.end)
        return r.value
      }
      if (this.#closed) throw new Error('connection closed before a reply')
      const left = end - Date.now()
      if (left <= 0) throw new Error('no reply in time')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Resolves once the server closed the connection; rejects after `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs
    while (!this.#closed) {
      const left = end - Date.now()
      if (left <= 0) throw new Error('connection still open')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Bytes received and not read as replies yet. */
  get pending(): Buffer {
    return this.#buf
  }

  /** Closes the connection. */
  close(): void {
    this.socket.destroy()
  }
}

/** `args` as a RESP array of bulk strings (byte strings, latin1). */
export function encodeCommand(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`
}

/** Decodes one reply at `at`; undefined when incomplete. */
export function decode(buf: Buffer, at: number): { value: Decoded; end: number } | undefined {
  const lf = buf.indexOf(10, at)
  if (lf === -1) return undefined
  const type = String.fromCharCode(buf[at] as number)
  const line = buf.toString('latin1', at + 1, lf - 1)
  const next = lf + 1
  switch (type) {
    case '+':
      return { value: line, end: next }
    case '-':
      return { value: { error: line }, end: next }
    case ':':
      return { value: Number(line), end: next }
    case '_':
      return { value: null, end: next }
    case '$':
    case '=': {
      const n = Number(line)
      if (n < 0) return { value: null, end: next }
      if (buf.length < next + n + 2) return undefined
      const s = buf.toString('latin1', next, next + n)
      return { value: type === '=' ? s.slice(4) : s, end: next + n + 2 }
    }
    case '*':
    case '~':
    case '%': {
      const n = Number(line)
      if (n < 0) return { value: null, end: next }
      const items: Decoded[] = []
      let p = next
      for (let i = 0; i < (type === '%' ? n * 2 : n); i++) {
        const r = decode(buf, p)
        if (r === undefined) return undefined
        items.push(r.value)
        p = r.end
      }
      if (type !== '%') return { value: items, end: p }
      const m = new Map<Decoded, Decoded>()
      for (let i = 0; i < items.length; i += 2) m.set(items[i] as Decoded, items[i + 1] as Decoded)
      return { value: m, end: p }
    }
    default:
      throw new Error(`unexpected reply type ${JSON.stringify(type)}`)
  }
}
