/** @tally/node: the Tally daemon. The programmatic API is mostly for tests and embedding. */
export { type AppOptions, buildApp } from './app.js'
export { ConfigError, helpText, type NodeConfig, parseConfig, SETTINGS, type Setting } from './config.js'
export type { LearnedPeer, PeerInfo } from './membership.js'
export { MemoryNetwork, MemoryTransport } from './memory-transport.js'
export { type Consistency, type MutateRequest, TallyNode, type TallyNodeOptions } from './node.js'
export type { PeerSource, PeerSourceContext } from './peer-source.js'
export { TcpTransport, type TcpTransportOptions } from './tcp-transport.js'
export type { Transport, TransportStats } from './transport.js'
