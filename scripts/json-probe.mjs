// The JSON reader and HTTP prober of run-cluster.sh and monitor.sh. Bash
// cannot parse JSON (a pattern stops at the first escaped quote of a
// message), and asking components one after the other lets one that hangs
// delay every other answer, so the scripts ask this file instead:
//
//   node scripts/json-probe.mjs fields FIELD...               (a JSON body on stdin)
//     One line: the value of each FIELD, tab-separated. Exit 1 when stdin is
//     not JSON.
//
//   node scripts/json-probe.mjs get TIMEOUT_MS URL FIELDS [URL FIELDS]...
//     GETs every URL at once, each with its own TIMEOUT_MS, and prints one
//     line per URL, in order: the HTTP status (`000` when nothing accepted
//     the connection, `timeout` when no answer came within TIMEOUT_MS), then
//     the value of each of that URL's comma-separated FIELDS ("" for none)
//     in its JSON body, tab-separated. Never fails for an unreachable URL.
//
//   node scripts/json-probe.mjs listening LOG_FILE NAME
//     The ports component NAME bound when it was last started, from its log
//     (the first "…listening" line after run-cluster.sh's last "starting
//     NAME" line): one line "HTTP GOSSIP RESP", 0 for a port it does not
//     have. Exit 1 when that start has not logged its ports (yet).
//
// A FIELD is a dotted path (`value`, `error.message`, `peers.live`). A value
// prints on one line (whitespace runs become one space); a missing, null or
// empty value prints as `-`, an object or array as compact JSON.
//
// Exit 2 on bad arguments.

import { readFileSync } from 'node:fs'

/** The value at dotted `path` in `body`, formatted for a tab-separated line. */
function field(body, path) {
  let v = body
  for (const key of path.split('.')) {
    v = v !== null && typeof v === 'object' && Object.hasOwn(v, key) ? v[key] : undefined
  }
  if (v === undefined || v === null || v === '') return '-'
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v)
  return s.replace(/\s+/g, ' ')
}

/** One output line: `head` then each field of `body` (all `-` when body is not JSON). */
function line(head, text, paths) {
  let body
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return [head, ...paths.map((p) => field(body, p))].join('\t')
}

/** GET `url` within `timeoutMs`: resolves to one output line, never rejects. */
async function probe(url, timeoutMs, paths) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    return line(String(res.status), await res.text(), paths)
  } catch (err) {
    const head = err?.name === 'TimeoutError' || err?.cause?.name === 'TimeoutError' ? 'timeout' : '000'
    return line(head, '', paths)
  }
}

/** The port at the end of `address` ("http://127.0.0.1:8010", "127.0.0.1:9000", "[::1]:6380"), or 0. */
function portOf(address) {
  const m = typeof address === 'string' ? /:(\d{1,5})\/?$/.exec(address) : null
  return m ? Number(m[1]) : 0
}

/** "HTTP GOSSIP RESP" of the last start of `name` logged in `file`, or undefined. */
function listeningPorts(file, name) {
  let text
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  const lines = text.split('\n')
  let from = -1
  for (let i = lines.length - 1; i >= 0 && from === -1; i--) {
    if (lines[i].includes(`"run-cluster.sh: starting ${name}"`)) from = i
  }
  if (from === -1) return undefined
  for (let i = from + 1; i < lines.length; i++) {
    let r
    try {
      r = JSON.parse(lines[i])
    } catch {
      continue
    }
    if (typeof r?.msg !== 'string' || !r.msg.endsWith('listening')) continue
    return [portOf(r.http ?? r.address), portOf(r.gossip), portOf(r.resp)].join(' ')
  }
  return undefined
}

function usage(msg) {
  process.stderr.write(`json-probe.mjs: ${msg}\n`)
  process.exit(2)
}

const [mode, ...rest] = process.argv.slice(2)
if (mode === 'fields') {
  let body
  try {
    body = JSON.parse(readFileSync(0, 'utf8'))
  } catch {
    process.exit(1)
  }
  process.stdout.write(`${rest.map((p) => field(body, p)).join('\t')}\n`)
} else if (mode === 'get') {
  const [timeout, ...pairs] = rest
  const timeoutMs = Number(timeout)
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
    usage(`TIMEOUT_MS must be a whole number >= 1, got '${timeout}'`)
  if (pairs.length % 2 !== 0) usage('expected URL FIELDS pairs')
  const jobs = []
  for (let i = 0; i < pairs.length; i += 2) {
    const paths = pairs[i + 1] === '' ? [] : pairs[i + 1].split(',')
    jobs.push(probe(pairs[i], timeoutMs, paths))
  }
  const lines = await Promise.all(jobs)
  // Exit at once: an idle keep-alive socket must not hold the caller's frame.
  process.stdout.write(lines.map((l) => `${l}\n`).join(''), () => process.exit(0))
} else if (mode === 'listening') {
  if (rest.length !== 2) usage('usage: json-probe.mjs listening LOG_FILE NAME')
  const ports = listeningPorts(rest[0], rest[1])
  if (ports === undefined) process.exit(1)
  process.stdout.write(`${ports}\n`)
} else {
  usage(
    'usage: json-probe.mjs fields FIELD... | get TIMEOUT_MS URL FIELDS [URL FIELDS]... | listening LOG_FILE NAME',
  )
}
