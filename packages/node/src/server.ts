#!/usr/bin/env node

// Process entry of tally-node: the only file that reads argv/env, installs
// signal handlers and listens. Exit codes: 0 clean stop, 1 failed start, 2 bad config.

import { logListening, readConfigOrExit, respBindPort } from '@tally/kit'
import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { LevelBoundedStore } from './bounded/level-bounded-store.js'
import { helpText, type NodeConfig, parseConfig } from './config.js'
import { DiscoveryClient } from './discovery/discovery-client.js'
import { DnsDiscovery } from './discovery/dns-discovery.js'
import { MulticastDiscovery } from './discovery/multicast-discovery.js'
import type { PeerSource, PeerSourceContext } from './discovery/peer-source.js'
import { buildApp } from './http/app.js'
import { applyYoungGeneration, capFor } from './memory/young-generation.js'
import { TallyNode } from './node.js'
import { createNodeResp } from './resp/resp-server.js'
import { createStore } from './storage/store-factory.js'
import { TcpTransport } from './wire/tcp-transport.js'

function readConfig(): NodeConfig {
  return readConfigOrExit('tally-node', helpText, parseConfig)
}

/** Peer sources for --discovery; an empty list when none is configured. */
function peerSources(cfg: NodeConfig, ctx: PeerSourceContext, log: pino.Logger): PeerSource[] {
  if (cfg.dnsDiscovery !== undefined) {
    const dns = {
      target: cfg.dnsDiscovery,
      intervalMs: cfg.dnsIntervalMs,
      server: cfg.dnsServer,
      logger: log,
      seed: ctx.seed,
      forget: ctx.forget,
    }
    return [new DnsDiscovery(dns, ctx.self)]
  }
  if (cfg.discovery === undefined) return []
  const common = {
    self: ctx.self,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs,
    logger: log,
    onPeers: ctx.onPeers,
  }
  if (cfg.discovery === 'multicast') {
    return [new MulticastDiscovery(cfg.clusterKey ? { ...common, clusterKey: cfg.clusterKey } : common)]
  }
  const urls = cfg.discovery
  return [
    new DiscoveryClient(
      cfg.discoveryToken ? { ...common, urls, token: cfg.discoveryToken } : { ...common, urls },
    ),
  ]
}

async function main(): Promise<void> {
  const cfg = readConfig()
  applyYoungGeneration(cfg.youngGeneration, process.execArgv, process.env.NODE_OPTIONS)
  const log = pino({ level: cfg.logLevel, base: { node: cfg.id } })
  const storeOptions = {
    dataDir: cfg.dataDir,
    durability: cfg.durability,
    logger: log,
    idempotencyTtl: cfg.idempotencyTtlMs,
  }
  const store = createStore(storeOptions)
  const transport = new TcpTransport({
    host: cfg.host,
    port: cfg.tcpPort,
    clusterKey: cfg.clusterKey,
    maxFrameBytes: cfg.maxFrameBytes,
    inboundBudgetBytes: cfg.inboundBudgetBytes,
    logger: log,
  })
  const node = await TallyNode.start({
    id: cfg.id,
    store,
    transport,
    logger: log,
    advertiseHost: cfg.advertise,
    peers: cfg.peers,
    fanout: cfg.fanout,
    gossipIntervalMs: cfg.gossipIntervalMs,
    eagerPush: cfg.eagerPush,
    clusterSize: cfg.clusterSize,
    snapshotIntervalMs: cfg.snapshotIntervalMs,
    idempotencyTtlMs: cfg.idempotencyTtlMs,
    idempotencyMaxKeys: cfg.idempotencyMaxKeys,
    quorumTimeoutMs: cfg.quorumTimeoutMs,
    catchUpSliceEntries: cfg.catchUpSliceEntries,
    gcGraceMs: cfg.gcGraceMs,
    boundedStore: new LevelBoundedStore({ dataDir: cfg.dataDir, durability: cfg.durability, logger: log }),
    boundedTransferTimeoutMs: cfg.boundedTransferTimeoutMs,
  })
  const app = buildApp({ node, logger: log })
  await app.listen({ host: cfg.host, port: cfg.httpPort })
  const httpPort = (app.server.address() as { port: number }).port
  const advertise = cfg.advertise.includes(':') ? `[${cfg.advertise}]` : cfg.advertise
  node.setHttp(`http://${advertise}:${httpPort}`)
  // RESP binds like HTTP (same --host); 0 = no listener. A failed bind (EADDRINUSE) fails the start.
  const resp =
    respBindPort(cfg.respPort) === undefined
      ? undefined
      : createNodeResp({
          node,
          host: cfg.host,
          port: respBindPort(cfg.respPort) ?? 0,
          password: cfg.respPassword,
          logger: log,
        })
  if (resp) await resp.listen()
  const self = { ...node.membership.self }
  const sources = peerSources(
    cfg,
    {
      self,
      onPeers: (peers) => node.learn(peers),
      seed: (addrs) => node.membership.seed(addrs),
      forget: (addrs) => node.membership.forget(addrs),
    },
    log,
  )
  for (const s of sources) s.start()
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host
  logListening(
    log,
    { http: self.http, gossip: self.addr, ...(resp ? { resp: `${host}:${resp.port}` } : {}) },
    'listening',
  )
  // Recovery ran with no young-generation growth; under load it may now grow up to the cap.
  const youngCap = capFor(cfg.youngGeneration, process.execArgv, process.env.NODE_OPTIONS)
  youngCap?.start()

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'fatal error, stopping')
    else log.info({ signal }, 'stopping')
    youngCap?.stop()
    await resp?.close()
    await app.close()
    await Promise.allSettled(sources.map((s) => s.stop()))
    await node.stop()
  })
}

main().catch((err: unknown) => {
  process.stderr.write(`tally-node: failed to start: ${(err as Error)?.message ?? String(err)}\n`)
  process.exit(1)
})
