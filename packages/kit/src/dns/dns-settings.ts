// The DNS discovery values as setting parsers, so tally-node and
// tally-gateway declare them in their settings schema like any other flag
// (a bad value is a ConfigError naming the flag, exit 2).

import { int } from '../setting-parsers.js'
import { InvalidValue, type Parser } from '../settings.js'
import {
  DEFAULT_DNS_INTERVAL_MS,
  DnsSettingError,
  type DnsTarget,
  isDnsDiscovery,
  parseDnsServer,
  parseDnsTarget,
} from './dns-target.js'

/** True when a parsed `--discovery` value is a DNS target (not a URL list or keyword). */
export function isDnsTarget(x: unknown): x is DnsTarget {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && 'kind' in x
}

function asSetting<T>(parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    if (err instanceof DnsSettingError) throw new InvalidValue(err.message)
    throw err
  }
}

/**
 * Setting parser: a `dns:NAME:PORT` / `dns+srv:_service._proto.NAME` value is
 * a {@link DnsTarget}; anything else goes to `other`. Throws InvalidValue.
 */
export function dnsTargetOr<T>(other: Parser<T>): Parser<DnsTarget | T> {
  return (raw) => (isDnsDiscovery(raw) ? asSetting(() => parseDnsTarget(raw)) : other(raw))
}

/**
 * Setting parser of `--dns-server`: an IP with an optional port, in the form
 * `Resolver.setServers` takes; an empty value is unset (the system's
 * resolvers). Throws InvalidValue.
 */
export function dnsServerSetting(): Parser<string | undefined> {
  return (raw) => (raw === '' ? undefined : asSetting(() => parseDnsServer(raw)))
}

/**
 * The `--dns-interval` and `--dns-server` settings, the same for every bin
 * that follows a DNS name (spread into a `defineSettings` schema).
 */
export function dnsSettings() {
  return {
    dnsIntervalMs: {
      flag: 'dns-interval',
      description: 'DNS discovery: period between two resolutions, ms',
      parse: int(100, 3_600_000),
      default: String(DEFAULT_DNS_INTERVAL_MS),
    },
    dnsServer: {
      flag: 'dns-server',
      description: 'DNS discovery: resolver IP[:PORT] (default: the system resolvers)',
      parse: dnsServerSetting(),
    },
  } as const
}
