// One burst of rate-limit hits over several nodes, paced evenly: the
// measurement behind the over-admission test and bench/limits.mjs. Plain
// JavaScript so the bench can use it too (types in limit-burst.d.mts).

import { Agent, request } from 'node:http'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// Plain node:http over kept-alive sockets: a hit costs the sender little, so the pacing holds
// on a loaded machine (fetch costs several times more CPU per request).
const agent = new Agent({ keepAlive: true, maxSockets: 64 })

/** Closes the kept-alive sockets of the bursts: call before stopping the nodes (else their reset is an error). */
export function closeBurstSockets() {
  agent.destroy()
}

function hitOnce(url, name, payload) {
  const u = new URL(`${url}/limits/${encodeURIComponent(name)}/hit`)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: 20_000,
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (d) => {
          text += d
        })
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode} ${text}`))
          else resolve(JSON.parse(text).allowed === true)
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer in 20 s`)))
    req.on('error', reject)
    req.end(payload)
  })
}

/**
 * Waits for the start of a window of `windowMs` (within `slackMs` of it),
 * then sends `hits` hits of limit `name` (`limit` per `windowMs`) to `urls`
 * round-robin, paced evenly over `spreadMs` (a batch every `tickMs`), and
 * waits for every answer. Resolves with how many were admitted and refused,
 * when the window and the sends started and ended (ms since the epoch),
 * whether every hit was sent inside that one window, and whether the pacing
 * held (`even`: no gap between two batches above 5 ticks; a sender that was
 * not scheduled for longer sends a clump at once, a much higher momentary rate). Rejects when a node
 * answers anything but 200.
 */
export async function limitBurst({ urls, name, limit, windowMs, hits, spreadMs, tickMs = 10, slackMs = 50 }) {
  for (;;) {
    const into = Date.now() % windowMs
    if (into < slackMs) break
    await sleep(Math.max(1, Math.min(windowMs - into, 20)))
  }
  const windowStart = Date.now() - (Date.now() % windowMs)
  const start = performance.now()
  const body = JSON.stringify({ limit, windowMs })
  const answers = []
  let sent = 0
  let lastSentAt = Date.now()
  let lastTick = performance.now()
  let maxGapMs = 0
  while (sent < hits) {
    const t = performance.now()
    maxGapMs = Math.max(maxGapMs, t - lastTick)
    lastTick = t
    const due = Math.min(hits, Math.ceil((hits * (t - start + tickMs)) / spreadMs))
    for (; sent < due; sent++) answers.push(hitOnce(urls[sent % urls.length], name, body))
    lastSentAt = Date.now()
    if (sent < hits) await sleep(tickMs)
  }
  const sendMs = Math.round(performance.now() - start)
  const results = await Promise.all(answers)
  const admitted = results.filter(Boolean).length
  return {
    admitted,
    refused: results.length - admitted,
    windowStart,
    lastSentAt,
    sendMs,
    maxGapMs: Math.round(maxGapMs),
    insideWindow: lastSentAt < windowStart + windowMs,
    // The sender stalled (it was not scheduled) for more than `maxGapMs` at most once per
    // tick of 10 ms: hits went out in clumps, at a momentary rate far above hits/spreadMs.
    even: maxGapMs <= 5 * tickMs,
  }
}
