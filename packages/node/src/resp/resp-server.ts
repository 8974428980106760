// The RESP listener of a node: the shared listener of @tally/kit with the
// counter commands over this node and a Tally section in INFO.

import { counterCommands, type InfoSection, limitCommands, RespListener, type RespLog } from '@tally/kit/resp'
import type { TallyNode } from '../node.js'
import { nodeLimitBackend } from './limit-backend.js'
import { nodeBackend } from './node-backend.js'

/** Options of {@link createNodeResp}. */
export interface NodeRespOptions {
  readonly node: TallyNode
  readonly host: string
  /** Port to bind (0 = any free port: read `port` after listen). */
  readonly port: number
  readonly password?: string | undefined
  readonly logger: RespLog
  /** Overrides of the listener's limits and timeouts (tests). */
  readonly idleTimeoutMs?: number
  readonly partialTimeoutMs?: number
}

/** Tally's version as INFO and HELLO report it. */
export const TALLY_VERSION = '0.1.0'

/** INFO sections of a node: Tally (identity, peers, counters), Persistence and Keyspace. */
export function nodeSections(node: TallyNode): InfoSection[] {
  const peers = node.membership.counts()
  const counters = node.map.size
  return [
    {
      title: 'Persistence',
      fields: [['loading', 0]],
    },
    {
      title: 'Tally',
      fields: [
        ['tally_node_id', node.identity.nodeId],
        ['tally_replica', node.identity.replicaId],
        ['tally_status', node.storeFailure !== null ? 'store-failed' : node.stopping ? 'stopping' : 'ok'],
        ['tally_peers_live', peers.live],
        ['tally_peers_suspect', peers.suspect],
        ['tally_peers_dead', peers.dead],
        ['tally_counters', counters],
      ],
    },
    { title: 'Keyspace', fields: counters > 0 ? [['db0', `keys=${counters},expires=0,avg_ttl=0`]] : [] },
  ]
}

/** A RESP listener serving `node`'s counters. Not yet listening: call `listen()`, and `close()` it. */
export function createNodeResp(o: NodeRespOptions): RespListener {
  return new RespListener({
    host: o.host,
    port: o.port,
    password: o.password,
    commands: [...counterCommands(nodeBackend(o.node)), ...limitCommands(nodeLimitBackend(o.node))],
    sections: () => nodeSections(o.node),
    serverName: 'tally-node',
    version: TALLY_VERSION,
    logger: o.logger,
    ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
    ...(o.partialTimeoutMs === undefined ? {} : { partialTimeoutMs: o.partialTimeoutMs }),
  })
}
