// Bundles each server bin into one file after `tsc -b` (`npm run build` runs
// it): a start then reads and compiles one file instead of resolving and
// loading some 450 modules (the node's own ~160 ESM files, fastify's and
// pino's CommonJS trees, prom-client…), which was most of an empty node's
// start. For each of tally-node, tally-gateway and tally-discovery,
// packages/<pkg>/dist/ gets:
//   <bin>.js               the entry to run (scripts/bin-entry.mjs): maps stack traces
//                          through the source map (read on first use), then compiles
//                          the bundle with its code cache and runs it
//   <bin>.bundle.cjs       dist/server.js and everything it imports, as one CommonJS
//                          module (import.meta.url is the bundle's own file URL)
//   <bin>.bundle.cjs.map   source map back to the TypeScript sources (through tsc's maps)
//   <bin>.bundle.cache     V8's code cache of the bundle, written by running the entry
//                          once with TALLY_CODE_CACHE=write and the Node that builds
//                          (it runs the bin's --help, which loads every module and
//                          changes no V8 flag, then writes the cache of all that was
//                          compiled); a start with another Node, which V8 refuses it
//                          for, compiles from the source (TALLY_CODE_CACHE=check
//                          prints used, rejected or absent)
//   <bin>.licenses.txt     licence texts of the npm packages the bundle holds
// Left out of the bundle and loaded from node_modules at run time: native
// addons, which locate their binaries from their own directory
// (msgpackr-extract, loaded on the first event-loop turn: see
// msgpackrLaterNative; and classic-level's binding.js: the rest of
// classic-level is bundled), and what the servers load only after they listen
// (ajv and fast-json-stringify through @fastify/*-compiler: see
// kit/src/lazy-compilers.ts; light-my-request, used by app.inject only).
// dist/server.js stays what tsc made: it runs the same server, unbundled.
// Usage: node scripts/bundle-bins.mjs (from anywhere; needs the tsc build).
// Exit code 1 when a bundle fails.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The bins: workspace folder → command name. */
export const BINS = [
  { pkg: 'node', bin: 'tally-node' },
  { pkg: 'gateway', bin: 'tally-gateway' },
  { pkg: 'discovery', bin: 'tally-discovery' },
]

/** Packages the bundles leave to node_modules (see the header). */
export const EXTERNAL = [
  'msgpackr-extract',
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
  'light-my-request',
]

/**
 * classic-level's JavaScript (and abstract-level's, which it builds on) is
 * bundled; its binding.js, which loads the native addon from its own
 * directory (node-gyp-build(__dirname)), stays in node_modules.
 */
const nativeBinding = {
  name: 'classic-level-binding',
  setup(b) {
    b.onResolve({ filter: /^\.\/binding(\.js)?$/ }, (args) =>
      /[\\/]node_modules[\\/]classic-level[\\/]/.test(args.importer)
        ? { path: 'classic-level/binding.js', external: true }
        : undefined,
    )
  },
}

/**
 * msgpackr's Node entry loads its optional native string extractor
 * (msgpackr-extract, through detect-libc and node-gyp-build) as it is
 * imported, before the server's code runs. The bundles import msgpackr's
 * plain entry instead and set the same extractor on the first turn of the
 * event loop (while the node opens its store), unless
 * MSGPACKR_NATIVE_ACCELERATION_DISABLED=true, as msgpackr would. Decoding
 * gives the same values with or without it.
 */
const msgpackrLaterNative = {
  name: 'msgpackr-later-native',
  setup(b) {
    b.onResolve({ filter: /^msgpackr$/ }, (args) =>
      /[\\/]node_modules[\\/]/.test(args.importer)
        ? undefined
        : { path: 'msgpackr', namespace: 'msgpackr-later-native' },
    )
    b.onLoad({ filter: /.*/, namespace: 'msgpackr-later-native' }, () => ({
      resolveDir: join(root, 'node_modules', 'msgpackr'),
      loader: 'js',
      contents: [
        "export * from './index.js'",
        "import { setExtractor } from './unpack.js'",
        "if (process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED?.toLowerCase() !== 'true')",
        '  setImmediate(() => {',
        '    try {',
        "      setExtractor(require('msgpackr-extract').extractStrings)",
        '    } catch {}',
        '  })',
      ].join('\n'),
    }))
  },
}

// The bundle is CommonJS (so that it can be compiled with a code cache, which
// Node 20 offers for scripts, not for ES modules); the ES modules in it read
// import.meta.url, which becomes the bundle's own file URL.
const BANNER = "var __tallyBundleUrl = require('node:url').pathToFileURL(__filename).href;"

/** The entry to run (scripts/bin-entry.mjs with the bin's name): maps stack traces, then loads the bundle. */
function entrySource(bin) {
  return readFileSync(join(root, 'scripts', 'bin-entry.mjs'), 'utf8').replaceAll('__BIN__', bin)
}

/** `node_modules/<name>` (scoped or not) of a bundled input path, or undefined for the project's own files. */
function packageDir(input) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)
  return m?.[1]
}

/** Licence notice of the packages in `inputs` (paths relative to `root`), one section each, sorted by name. */
function licences(bin, inputs) {
  const dirs = new Set()
  for (const input of inputs) {
    const dir = packageDir(input)
    if (dir !== undefined) dirs.add(dir)
  }
  const sections = []
  for (const dir of dirs) {
    const manifest = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))
    const file = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'LICENCE', 'license', 'License.md']
      .map((f) => join(root, dir, f))
      .find((f) => existsSync(f))
    let text = file
      ? readFileSync(file, 'utf8').trim()
      : `(no licence file; package.json says ${manifest.license})`
    // Apache-2.0 §4(d): a NOTICE file travels with the work.
    const notice = ['NOTICE', 'NOTICE.md', 'NOTICE.txt']
      .map((f) => join(root, dir, f))
      .find((f) => existsSync(f))
    if (notice) text += `\n\n${readFileSync(notice, 'utf8').trim()}`
    sections.push({
      name: manifest.name,
      text: `${manifest.name}@${manifest.version} (${manifest.license})\n\n${text}`,
    })
  }
  sections.sort((a, b) => (a.name < b.name ? -1 : 1))
  const head = [
    `${bin}.bundle.cjs holds the code of the Tally project (MIT, see LICENSE) and of the`,
    'npm packages below, each under its own licence, reproduced here.',
  ].join('\n')
  return `${[head, ...sections.map((s) => s.text)].join(`\n\n${'-'.repeat(78)}\n\n`)}\n`
}

/**
 * `text` with each non-ASCII UTF-16 unit replaced by `?`, one for one (so
 * columns, and the source map, stay right). esbuild already escapes
 * non-ASCII characters in code (`charset: 'ascii'`, its default); what is
 * left is in the comments it keeps (doc comments of object properties:
 * `−`, `–`, `≤`…). A single one makes V8 hold the whole source as a
 * two-byte string, twice the bundle's size (3.5 MB for tally-node) of heap
 * for as long as the process runs, where ASCII is held one byte a
 * character. Pure.
 */
export function asciiOnly(text) {
  return text.replace(/[\u0080-\uffff]/g, '?')
}

/**
 * Writes `<bin>.bundle.cache`: runs the entry once with TALLY_CODE_CACHE=write
 * in a fresh process (this Node, no extra flags), which compiles the bundle
 * exactly as a start does, runs its --help and writes V8's cache of what was
 * compiled. Throws when that fails.
 */
function writeCodeCache(dist, bin) {
  const cache = join(dist, `${bin}.bundle.cache`)
  rmSync(cache, { force: true })
  const r = spawnSync(process.execPath, [join(dist, `${bin}.js`)], {
    env: { ...process.env, TALLY_CODE_CACHE: 'write', NODE_OPTIONS: '' },
    encoding: 'utf8',
  })
  if (r.status !== 0 || !existsSync(cache))
    throw new Error(`${bin}: writing the code cache failed (exit ${r.status}): ${r.stderr}`)
}

/** Bundles one bin; resolves with the bundle's size in bytes and the number of packages it holds. */
export async function bundleBin({ pkg, bin }) {
  const dist = join(root, 'packages', pkg, 'dist')
  const entry = join(dist, 'server.js')
  if (!existsSync(entry)) throw new Error(`${relative(root, entry)} is missing: run tsc -b first`)
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: join(dist, `${bin}.bundle.cjs`),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    define: { 'import.meta.url': '__tallyBundleUrl' },
    external: EXTERNAL,
    plugins: [nativeBinding, msgpackrLaterNative],
    banner: { js: BANNER },
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  })
  const bundle = join(dist, `${bin}.bundle.cjs`)
  writeFileSync(bundle, asciiOnly(readFileSync(bundle, 'utf8')))
  const out = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined)
  const inputs = Object.keys(out?.inputs ?? {})
  const text = licences(bin, inputs)
  writeFileSync(join(dist, `${bin}.licenses.txt`), text)
  writeFileSync(join(dist, `${bin}.js`), entrySource(bin), { mode: 0o755 })
  writeCodeCache(dist, bin)
  return { bytes: out?.bytes ?? 0, packages: text.split(`\n${'-'.repeat(78)}\n`).length - 1 }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    for (const b of BINS) {
      const r = await bundleBin(b)
      console.log(
        `bundled packages/${b.pkg}/dist/${b.bin}.js (${Math.round(r.bytes / 1024)} KiB, ${r.packages} npm packages)`,
      )
    }
  } catch (err) {
    console.error(`bundle-bins: ${err.message}`)
    process.exit(1)
  }
}
