#!/usr/bin/env node
// __BIN__, bundled by scripts/bundle-bins.mjs (npm run build) from its
// template scripts/bin-entry.mjs: do not edit the copy in dist/.
// Licences of the npm packages inside the bundle: __BIN__.licenses.txt.
//
// Stack traces name the TypeScript sources: a frame in the bundle is mapped
// through __BIN__.bundle.cjs.map, which is read the first time a stack trace
// is formatted. (Node's own --enable-source-maps reads the map and indexes
// every line of the bundle at each start, before the server can listen; most
// runs never format a stack trace.) Other frames are left as Node prints them.
//
// The bundle is CommonJS, compiled here with V8's code cache for it,
// __BIN__.bundle.cache, which the build writes (bundle-bins.mjs): a start then
// deserialises the compiled code instead of parsing 1–2 MB of JavaScript
// (about 40 ms of an empty node's ~300 ms start). A cache that is missing,
// or that V8 refuses (another Node version or V8 flags), only costs that
// time: the bundle is compiled from its source as before.
// TALLY_CODE_CACHE=write (the build's step) runs the bin's --help and writes
// the cache of what was compiled by then; TALLY_CODE_CACHE=check prints whether the
// cache was `used`, `rejected` or `absent` and runs nothing; any other
// non-empty value is refused (exit 1), before anything is compiled.
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire, Module, SourceMap } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Script, constants as vmConstants } from 'node:vm'

const bundle = new URL('./__BIN__.bundle.cjs', import.meta.url)
const bundlePath = fileURLToPath(bundle)
const mapUrl = new URL('./__BIN__.bundle.cjs.map', import.meta.url)
const cachePath = fileURLToPath(new URL('./__BIN__.bundle.cache', import.meta.url))
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

/**
 * The bundle compiled as a CommonJS module, not yet run (with the code cache
 * when there is one), and whether there was one. The wrapped source is made
 * as one string (the bundle is ASCII: bundle-bins.mjs), not the file's
 * string and then a second copy with the wrapper around it, which would
 * leave the heap a bundle's size larger. A hashbang on the first line is
 * blanked in place.
 */
function compile() {
  let cachedData
  try {
    cachedData = readFileSync(cachePath)
  } catch {}
  const file = readFileSync(bundlePath)
  if (file[0] === 0x23 && file[1] === 0x21) file.fill(0x20, 0, Math.max(2, file.indexOf(0x0a)))
  const [head, tail] = Module.wrap('\u0000').split('\u0000')
  const source = Buffer.concat([Buffer.from(head, 'latin1'), file, Buffer.from(tail, 'latin1')]).toString(
    'latin1',
  )
  const script = new Script(source, {
    filename: bundlePath,
    cachedData,
    // import() in the bundle loads as it would in a module of the main context.
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  return { script, cached: cachedData !== undefined }
}

const mode = process.env.TALLY_CODE_CACHE || undefined
if (mode !== undefined && mode !== 'write' && mode !== 'check') {
  process.stderr.write(`__BIN__: TALLY_CODE_CACHE must be write or check (got ${JSON.stringify(mode)})\n`)
  process.exit(1)
}
const { script, cached } = compile()

/** Runs the compiled bundle as the CommonJS module it is. */
function run() {
  const module = { exports: {}, filename: bundlePath }
  script.runInThisContext()(
    module.exports,
    createRequire(bundlePath),
    module,
    bundlePath,
    dirname(bundlePath),
  )
}

if (mode === 'write') {
  // The build's step (bundle-bins.mjs): run the bin's --help (which loads every module of the
  // bundle and exits before the server changes any V8 flag), then write the cache of all that
  // was compiled by then.
  const exit = process.exit.bind(process)
  process.exit = (code) => {
    writeFileSync(cachePath, script.createCachedData())
    exit(code)
  }
  process.argv = [process.argv[0], process.argv[1], '--help']
  run()
} else if (mode === 'check') {
  process.stdout.write(
    `code cache: ${!cached ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used'}\n`,
  )
} else run()
