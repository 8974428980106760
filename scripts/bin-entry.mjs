#!/usr/bin/env node
// __BIN__, bundled by scripts/bundle-bins.mjs (npm run build) from its
// template scripts/bin-entry.mjs: do not edit the copy in dist/.
// Licences of the npm packages inside the bundle: __BIN__.licenses.txt.
//
// Stack traces name the TypeScript sources: a frame in the bundle is mapped
// through __BIN__.bundle.js.map, which is read the first time a stack trace
// is formatted. (Node's own --enable-source-maps reads the map and indexes
// every line of the bundle at each start, before the server can listen; most
// runs never format a stack trace.) Other frames are left as Node prints them.
import { readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { fileURLToPath } from 'node:url'

const bundle = new URL('./__BIN__.bundle.js', import.meta.url)
const bundlePath = fileURLToPath(bundle)
const mapUrl = new URL('./__BIN__.bundle.js.map', import.meta.url)
/** @type {SourceMap | null | undefined} undefined: not read yet; null: unreadable. */
let map

function sourceMap() {
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(mapUrl, 'utf8')))
    } catch {
      map = null
    }
  }
  return map
}

/** One frame as Node prints it, with a location in the bundle replaced by the original one. */
function frameLine(frame) {
  const text = `    at ${frame}`
  const file = frame.getFileName()
  if (file !== bundle.href && file !== bundlePath) return text
  const line = frame.getLineNumber()
  const column = frame.getColumnNumber()
  const m = line === null || column === null ? null : sourceMap()
  const entry = m?.findEntry(line - 1, column - 1)
  if (!entry || typeof entry.originalSource !== 'string') return text
  const source = fileURLToPath(new URL(entry.originalSource, mapUrl))
  return text.replace(
    `${file}:${line}:${column}`,
    `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`,
  )
}

/** The header V8 puts above the frames: `Name: message`. */
function header(err) {
  try {
    return String(err)
  } catch {
    return 'Error'
  }
}

Error.prepareStackTrace = (err, frames) => [header(err), ...frames.map((f) => frameLine(f))].join('\n')

await import(bundle.href)
