#!/usr/bin/env node
/**
 * tally-discovery entry point: the only module that reads argv/env, handles
 * signals and listens. Exit codes: 0 clean shutdown, 1 start failure
 * (e.g. port in use), 2 bad configuration.
 */
import { logListening, readConfigOrExit } from '@tally/kit'
import closeWithGrace from 'close-with-grace'
import { pino } from 'pino'
import { buildApp } from './app.js'
import { helpText, parseConfig } from './config.js'

async function main(): Promise<void> {
  const config = readConfigOrExit('tally-discovery', helpText, parseConfig)
  const logger = pino({ name: 'tally-discovery', level: config.logLevel })
  const app = await buildApp({
    ttlMs: config.ttlMs,
    maxPeers: config.maxPeers,
    logger,
    ...(config.token === undefined ? {} : { token: config.token }),
  })
  closeWithGrace({ delay: 5000, logger }, async ({ signal, err }) => {
    if (err !== undefined) logger.error({ err }, 'shutting down after error')
    else logger.info({ signal }, 'shutting down')
    await app.close()
  })
  try {
    const address = await app.listen({ host: config.host, port: config.port })
    logListening(
      logger,
      { address, ttlMs: config.ttlMs, auth: config.token !== undefined },
      'discovery listening',
    )
  } catch (err) {
    logger.error({ err }, 'cannot listen')
    process.exit(1)
  }
}

void main()
