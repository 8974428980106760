// An HTTP proxy in front of one node that lets writes through to the node
// and then resets the client's connection instead of relaying the answer: a
// write applied (and acknowledged by the node) whose answer never arrives.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { listenOnFreePort } from '@tally/kit/testing'

/** A running proxy: its URL, the writes it let through, and how to stop it. */
export interface ResetProxy {
  readonly url: string
  /** Writes (POST) forwarded to the node, each answered there and then reset here: method, path, node status. */
  readonly resets: Array<{ path: string; status: number }>
  close(): Promise<void>
}

/**
 * Starts a proxy on 127.0.0.1 (port chosen by the OS) in front of `target`
 * (a node's base URL): GETs are relayed as they are; a POST is forwarded,
 * its answer awaited, and the client's socket destroyed. Resolves once it
 * listens.
 */
export async function startResetProxy(target: string): Promise<ResetProxy> {
  const resets: Array<{ path: string; status: number }> = []
  const server: Server = createServer((req, res) => {
    void relay(target, req, res, resets)
  })
  const port = await listenOnFreePort(server)
  return {
    url: `http://127.0.0.1:${port}`,
    resets,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function relay(
  target: string,
  req: IncomingMessage,
  res: ServerResponse,
  resets: Array<{ path: string; status: number }>,
): Promise<void> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers))
    if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v
  try {
    const method = req.method ?? 'GET'
    const up = await fetch(`${target}${req.url ?? '/'}`, {
      method,
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    })
    const body = Buffer.from(await up.arrayBuffer())
    if (method === 'POST') {
      resets.push({ path: req.url ?? '/', status: up.status })
      req.socket.destroy()
      return
    }
    res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' })
    res.end(body)
  } catch {
    req.socket.destroy()
  }
}
