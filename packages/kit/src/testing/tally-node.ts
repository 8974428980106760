import { fileURLToPath } from 'node:url'
import type { Cleanup } from './cleanup.js'
import { http } from './http.js'
import { type Proc, portOf, spawnProc, waitForLine } from './process.js'
import { sleepMs } from './until.js'

/** The bundled tally-node bin (packages/node/dist/tally-node.js); `npm run build` makes it. */
export const NODE_BIN = fileURLToPath(new URL('../../../node/dist/tally-node.js', import.meta.url))

/** A tally-node process started by {@link startTallyNode}. */
export interface TallyNodeProc extends Proc {
  readonly id: string
  readonly dataDir: string
  /** Bound gossip TCP port, HTTP port and HTTP base URL (0, 0, '' when it exited before listening). */
  readonly tcp: number
  readonly http: number
  readonly url: string
  /** Bound RESP port; 0 when RESP is off (the default here; `--resp-port any` picks a free one). */
  readonly resp: number
}

/**
 * Starts tally-node `id` on 127.0.0.1 with its data in `dataDir`, the gossip
 * and HTTP ports chosen by the OS (port 0, no race) unless `ports` gives them,
 * the RESP listener off unless `extra` has `--resp-port`, then `extra` flags. The bound ports are read from the node's `listening`
 * log line. Resolves once it listens, or once it has exited first (a refused
 * start: check `alive()` and `output()`). `cleanup` stops it by pid.
 */
export async function startTallyNode(
  cleanup: Cleanup,
  id: string,
  dataDir: string,
  extra: readonly string[] = [],
  ports: { readonly tcp?: number; readonly http?: number } = {},
): Promise<TallyNodeProc> {
  const p = spawnProc(cleanup, id, NODE_BIN, [
    ...['--id', id, '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'info'],
    ...['--tcp-port', String(ports.tcp ?? 0), '--http-port', String(ports.http ?? 0)],
    // RESP is off unless a test asks for it: its default port (6380) is fixed and shared.
    ...(extra.includes('--resp-port') ? [] : ['--resp-port', '0']),
    ...extra,
  ])
  let bound = { tcp: 0, http: 0, url: '', resp: 0 }
  try {
    bound = await waitForLine(p, (r) =>
      r.msg === 'listening' && typeof r.http === 'string' && typeof r.gossip === 'string'
        ? {
            tcp: portOf(r.gossip),
            http: portOf(r.http),
            url: r.http,
            resp: typeof r.resp === 'string' ? portOf(r.resp) : 0,
          }
        : undefined,
    )
  } catch (err) {
    if (p.alive()) throw err
    await p.exited
  }
  return { ...p, id, dataDir, ...bound }
}

/**
 * Polls `GET /health` of `p` every 50 ms until 200 and resolves with its
 * body; rejects with the node's output as soon as it exits, or after `timeoutMs`.
 */
export async function waitHealthy(
  p: TallyNodeProc,
  timeoutMs = 30_000,
): Promise<{ id: string; replica: string; status: string }> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const r = await http<{ id: string; replica: string; status: string }>(
        `${p.url}/health`,
        'GET',
        undefined,
        {},
        5000,
      )
      if (r.status === 200) return r.body
    } catch {}
    if (!p.alive()) throw new Error(`${p.id} exited (${p.child.exitCode}): ${p.output()}`)
    if (Date.now() > deadline) throw new Error(`${p.id} not healthy after ${timeoutMs} ms: ${p.output()}`)
    await sleepMs(50)
  }
}
