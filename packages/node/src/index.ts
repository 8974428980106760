/** @tally/node: the Tally daemon. The programmatic API is mostly for tests and embedding. */

export { ConfigError, helpText, type NodeConfig, parseConfig, SETTINGS, type Setting } from './config.js'
export type { PeerSource, PeerSourceContext } from './discovery/peer-source.js'
export { type ErrorDetails, isNodeError, NodeError, type NodeErrorCode, NodeErrorCodes } from './errors.js'
export { type AppOptions, buildApp } from './http/app.js'
export { ERROR_STATUS, toHttp } from './http/error-status.js'
export type { LearnedPeer, PeerInfo } from './membership/membership.js'
export { type Consistency, type MutateRequest, TallyNode, type TallyNodeOptions } from './node.js'
export { MemoryNetwork, MemoryTransport } from './wire/memory-transport.js'
export { TcpTransport, type TcpTransportOptions } from './wire/tcp-transport.js'
export type { Transport, TransportStats } from './wire/transport.js'
