/**
 * @tally/gateway: the HTTP load balancer in front of Tally nodes. The bin is
 * `tally-gateway` (src/server.ts); this entry exports the app builder and the
 * pure pieces for embedding and tests.
 */

export { type Consistency, requiredReplicas } from '@tally/kit'
export { type AppOptions, buildApp } from './app.js'
export { ConfigError, type GatewayConfig, helpText, parseConfig, SETTINGS, type Setting } from './config.js'
export { classify, mergeStates } from './consistency.js'
export { ERROR_STATUS, GatewayError, type GatewayErrorCode, RelayedError } from './errors.js'
export { Gateway, type GatewayOptions } from './gateway.js'
export * from './health.js'
export * from './strategies.js'
