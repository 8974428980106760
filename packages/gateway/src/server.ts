#!/usr/bin/env node
// tally-gateway: the only file that reads argv/env, handles signals and listens.

import { logListening, readConfigOrExit, respBindPort } from '@tally/kit'
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { buildApp } from './app.js'
import { helpText, parseConfig } from './config.js'
import { createGatewayResp } from './resp/resp-server.js'

async function main(): Promise<void> {
  const config = readConfigOrExit('tally-gateway', helpText, parseConfig)
  const logger = pino({ level: config.logLevel, base: { component: 'gateway' } })
  const app = await buildApp({
    nodes: config.nodes,
    discovery: config.discovery,
    discoveryToken: config.discoveryToken,
    dns:
      config.dnsDiscovery === undefined
        ? undefined
        : { target: config.dnsDiscovery, intervalMs: config.dnsIntervalMs, server: config.dnsServer },
    strategy: config.strategy,
    requestTimeoutMs: config.requestTimeoutMs,
    healthIntervalMs: config.healthIntervalMs,
    discoveryIntervalMs: config.discoveryIntervalMs,
    maxAttempts: config.maxAttempts,
    deadlineMs: config.deadlineMs,
    quorumTimeoutMs: config.quorumTimeoutMs,
    forgetAfterMs: config.forgetAfterMs,
    logger,
  })
  // RESP binds like HTTP (same --host); 0 = no listener.
  const resp =
    respBindPort(config.respPort) === undefined
      ? undefined
      : createGatewayResp({
          gateway: app.gateway,
          host: config.host,
          port: respBindPort(config.respPort) ?? 0,
          password: config.respPassword,
          logger,
        })
  closeWithGrace({ delay: 5000, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'closing after error')
    else logger.info({ signal }, 'closing')
    await resp?.close()
    await app.close()
  })
  const address = await app.listen({ host: config.host, port: config.port })
  if (resp) await resp.listen()
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  logListening(
    logger,
    {
      address,
      ...(resp ? { resp: `${host}:${resp.port}` } : {}),
      nodes: config.nodes,
      discovery: config.dnsDiscovery ?? config.discovery,
      strategy: config.strategy,
    },
    'tally-gateway listening',
  )
}

main().catch((err) => {
  process.stderr.write(`tally-gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
