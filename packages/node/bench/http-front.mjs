// What the HTTP front end itself costs per request, apart from any route's
// work: three servers that answer `POST /increment` with the same small JSON
// body and nothing else, under autocannon, interleaved, each in its own
// process, CPU time per request from /proc (user + system), medians:
//   raw      a net.Server that splits HTTP/1.1 requests itself (Content-Length
//            bodies only) and writes each answer as one preformatted string;
//            a measure of what a front end that bypasses node:http could
//            reach, not something the servers do
//   front    node:http's server with kit's raw front (serveRaw) answering the
//            route: what the node's and the gateway's hot routes use since
//   http     node:http's server with writeHead + end (what the node's and the
//            gateway's hot routes used before the raw front, and still use on
//            a connection the front hands over)
//   fastify  a bare fastify route (what bench/bare-server.mjs serves)
//
// Usage: node bench/http-front.mjs [seconds=4] [connections=10] [rounds=3]
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer as httpServer } from 'node:http'
import { createRequire } from 'node:module'
import { createServer as netServer } from 'node:net'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const KINDS = ['raw', 'front', 'http', 'fastify']

// A child: serves one kind on an OS-chosen port, prints the port, runs until killed.
if (process.argv[2] === '--serve') {
  const kind = process.argv[3]
  let n = 0
  const body = () => `{"name":"default","value":${++n}}`
  const ready = (port) => process.stdout.write(`${port}\n`)
  if (kind === 'raw') {
    const s = netServer({ noDelay: true }, (sock) => {
      let buf = ''
      sock.setEncoding('latin1')
      sock.on('error', () => {})
      sock.on('data', (d) => {
        buf += d
        let out = ''
        for (;;) {
          const end = buf.indexOf('\r\n\r\n')
          if (end < 0) break
          const cl = /\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end))
          const len = cl ? Number(cl[1]) : 0
          if (buf.length < end + 4 + len) break
          buf = buf.slice(end + 4 + len)
          const b = body()
          out += `HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${b.length}\r\ndate: ${new Date().toUTCString()}\r\nconnection: keep-alive\r\n\r\n${b}`
        }
        if (out !== '') sock.write(out, 'latin1')
      })
    })
    s.listen(0, '127.0.0.1', () => ready(s.address().port))
  } else if (kind === 'front') {
    const { serveRaw } = await import('@tally/kit')
    const s = httpServer((_req, res) => {
      res.writeHead(404)
      res.end()
    })
    serveRaw(
      s,
      {
        accept: (head) => (head.method === 'POST' && head.target === '/increment' ? head : undefined),
        serve: () => Promise.resolve({ body: body() }),
      },
      { maxBody: 4096 },
    )
    s.listen(0, '127.0.0.1', () => ready(s.address().port))
  } else if (kind === 'http') {
    const s = httpServer((req, res) => {
      req.resume()
      req.on('end', () => {
        const b = body()
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': b.length })
        res.end(b)
      })
    })
    s.listen(0, '127.0.0.1', () => ready(s.address().port))
  } else {
    const app = require('fastify')()
    app.post('/increment', async () => ({ name: 'default', value: ++n }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    ready(app.server.address().port)
  }
} else {
  const autocannon = require('autocannon')
  const [d = '4', c = '10', r = '3'] = process.argv.slice(2)
  const cpuMs = (pid) => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) * 10
  }
  const load = (url, duration) =>
    new Promise((resolve, reject) =>
      autocannon(
        {
          url,
          connections: Number(c),
          duration,
          method: 'POST',
          body: '{"amount":1}',
          headers: { 'content-type': 'application/json' },
        },
        (err, res) => (err ? reject(err) : resolve(res)),
      ),
    )
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const us = Object.fromEntries(KINDS.map((k) => [k, []]))
  const rps = Object.fromEntries(KINDS.map((k) => [k, []]))
  for (let round = 0; round < Number(r); round++)
    for (const kind of round % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', kind], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      try {
        const port = await new Promise((resolve) =>
          child.stdout.once('data', (x) => resolve(Number(String(x)))),
        )
        const url = `http://127.0.0.1:${port}/increment`
        await load(url, 1) // warm-up
        const c0 = cpuMs(child.pid)
        const res = await load(url, Number(d))
        us[kind].push(((cpuMs(child.pid) - c0) * 1000) / res.requests.total)
        rps[kind].push(res.requests.average)
      } finally {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill()
        await exited
      }
    }
  const out = { connections: Number(c), seconds: Number(d), rounds: Number(r) }
  for (const k of KINDS)
    out[k] = { cpuUsPerReq: Math.round(median(us[k]) * 10) / 10, reqPerSec: Math.round(median(rps[k])) }
  out.rawVsHttp = Math.round((out.raw.cpuUsPerReq / out.http.cpuUsPerReq) * 100) / 100
  out.frontVsHttp = Math.round((out.front.cpuUsPerReq / out.http.cpuUsPerReq) * 100) / 100
  out.httpVsFastify = Math.round((out.http.cpuUsPerReq / out.fastify.cpuUsPerReq) * 100) / 100
  out.loadavg = (await import('node:os')).loadavg().map((x) => Math.round(x * 10) / 10)
  console.log(JSON.stringify(out))
}
