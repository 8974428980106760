#!/usr/bin/env node
// tally-gateway: the only file that reads argv/env, handles signals and listens.

import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { buildApp } from './app.js'
import { ConfigError, helpText, parseConfig } from './config.js'
import { createGatewayResp } from './resp/resp-server.js'

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${helpText()}\n`)
    return
  }
  let config: ReturnType<typeof parseConfig>
  try {
    config = parseConfig(argv, process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tally-gateway: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const logger = pino({ level: config.logLevel, base: { component: 'gateway' } })
  const app = await buildApp({
    nodes: config.nodes,
    discovery: config.discovery,
    discoveryToken: config.discoveryToken,
    strategy: config.strategy,
    requestTimeoutMs: config.requestTimeoutMs,
    healthIntervalMs: config.healthIntervalMs,
    discoveryIntervalMs: config.discoveryIntervalMs,
    maxAttempts: config.maxAttempts,
    deadlineMs: config.deadlineMs,
    quorumTimeoutMs: config.quorumTimeoutMs,
    logger,
  })
  // RESP binds like HTTP (same --host); 0 = no listener.
  const resp =
    config.respPort === 0
      ? undefined
      : createGatewayResp({
          gateway: app.gateway,
          host: config.host,
          port: config.respPort,
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
  logger.info(
    {
      address,
      ...(resp ? { resp: `${host}:${resp.port}` } : {}),
      nodes: config.nodes,
      discovery: config.discovery,
      strategy: config.strategy,
    },
    'tally-gateway listening',
  )
}

main().catch((err) => {
  process.stderr.write(`tally-gateway: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
