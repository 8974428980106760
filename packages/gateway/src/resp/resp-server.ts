// The RESP listener of the gateway: the shared listener of @tally/kit with
// the counter commands forwarded to the nodes, and a Tally section in INFO.

import { counterCommands, type InfoSection, limitCommands, RespListener, type RespLog } from '@tally/kit/resp'
import type { Gateway } from '../gateway.js'
import { gatewayBackend } from './gateway-backend.js'
import { gatewayLimitBackend } from './limit-backend.js'

/** Options of {@link createGatewayResp}. */
export interface GatewayRespOptions {
  readonly gateway: Gateway
  readonly host: string
  /** Port to bind (0 = any free port: read `port` after listen). */
  readonly port: number
  readonly password?: string | undefined
  readonly logger: RespLog
}

/** Tally's version as INFO and HELLO report it. */
export const TALLY_VERSION = '0.1.0'

/** INFO sections of the gateway: the nodes it knows and how many it would use now. */
export function gatewaySections(gw: Gateway): InfoSection[] {
  const nodes = gw.registry.list()
  return [
    { title: 'Persistence', fields: [['loading', 0]] },
    {
      title: 'Tally',
      fields: [
        ['tally_role', 'gateway'],
        ['tally_nodes_known', nodes.length],
        ['tally_nodes_usable', gw.registry.usableCount()],
        ['tally_nodes', nodes.map((n) => `${n.id ?? '?'}@${n.key}`).join(',')],
      ],
    },
  ]
}

/** A RESP listener in front of `gateway`. Not yet listening: call `listen()`, and `close()` it. */
export function createGatewayResp(o: GatewayRespOptions): RespListener {
  return new RespListener({
    host: o.host,
    port: o.port,
    password: o.password,
    commands: [
      ...counterCommands(gatewayBackend(o.gateway)),
      ...limitCommands(gatewayLimitBackend(o.gateway)),
    ],
    sections: () => gatewaySections(o.gateway),
    serverName: 'tally-gateway',
    version: TALLY_VERSION,
    logger: o.logger,
  })
}
