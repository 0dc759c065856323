// The one build of the project, by named targets:
//   node scripts/build.mjs                  the single executables dist/bin/sriov and dist/bin/sriovdp (and the
//                                           addons beside them, dist/lib/sriov-ts/<hash>-<name>)
//   node scripts/build.mjs <target> ...     sriov, sriovdp, demo (dist/demo.cjs), vm-guests (dist/vm/*.cjs),
//                                           bench (dist/bench/*.cjs)
// The executables are Node SEAs with a V8 code cache and the native addons as assets.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { createHash } from 'node:crypto'
import esbuild from 'esbuild'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const require = createRequire(path.join(root, 'package.json'))
const dist = path.join(root, 'dist')
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
const ARCH = { x64: 'x64', arm64: 'arm64' }[process.arch] ?? process.arch

// the prebuilt addons the two packages ship for this platform
const addons = {
  'netlink.node': path.join(path.dirname(require.resolve('netlink/package.json')), 'prebuilds', `linux-${ARCH}`, 'node.napi.node'),
  'koffi.node': path.join(path.dirname(require.resolve(`@koromix/koffi-linux-${ARCH}/package.json`)), `linux_${ARCH}`, 'koffi.node'),
}
for (const file of Object.values(addons)) if (!fs.existsSync(file)) throw new Error(`build: ${file} is missing (npm ci)`)
const addonHashes = Object.fromEntries(Object.entries(addons).map(([name, file]) => [name, createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16)]))

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', loader: { '.proto': 'text' }, legalComments: 'none' }

// In the SEA, the packages' own addon lookups resolve to modules that load the addons from its assets.
const seaAddons = {
  name: 'sea-addons',
  setup(build) {
    build.onResolve({ filter: /^node-gyp-build$/ }, () => ({ path: path.join(root, 'host/sea-netlink-binding.ts') }))
    // koffi itself is its addon: the package's JS only finds the addon for the platform and wraps deprecated calls
    build.onResolve({ filter: /^koffi$/ }, () => ({ path: path.join(root, 'host/sea-koffi-binding.ts') }))
    build.onResolve({ filter: /^@koromix\/koffi-/ }, (a) => ({ path: a.path, external: true }))
  },
}

// In the CNI, pino is loaded only when a line is logged: it rides as an asset of its own (cni/sea-pino.ts) instead
// of in the bundle, whose source every call copies before it runs.
const seaPino = {
  name: 'sea-pino',
  setup(build) {
    build.onResolve({ filter: /^pino$/ }, (a) => (a.importer.endsWith(path.join('cni', 'sea-pino.ts')) ? undefined : { path: path.join(root, 'cni/sea-pino.ts') }))
  },
}

/**
 * Writes `code` to `out` as a function of `params`, as the executable compiles its script assets (main.js,
 * pino.js): they are decoded as latin1, a plain copy, so a non-ASCII one is refused (esbuild escapes every
 * non-ASCII character by default, charset ascii: only a change of its settings would trip this).
 */
function writeScriptAsset(out, params, code) {
  const wrapped = `(function (${params.join(', ')}) {\n${code}\n})`
  if (/[^\x00-\x7f]/.test(wrapped)) throw new Error(`build: ${out} has a non-ASCII character; the executable reads it as latin1`)
  fs.writeFileSync(out, wrapped)
  return out
}

/** `pkg` bundled on its own as a function of (require, module, exports), as the SEA loader runs main.js. */
async function wrappedBundle(pkg, out) {
  const code = (await esbuild.build({ ...common, stdin: { contents: `module.exports = require(${JSON.stringify(pkg)})`, resolveDir: root }, minify: true, write: false })).outputFiles[0].text
  return writeScriptAsset(out, ['require', 'module', 'exports'], code)
}

/**
 * A single executable: the bundle with the addon shims, its SEA blob, node with the blob injected. With
 * `trained`, the bundle is an asset run by scripts/sea-loader.cjs with a V8 code cache recorded while a
 * training copy of the executable ran the plugin's verbs (scripts/train-code-cache.mjs).
 */
async function executable(name, entry, o = {}) {
  const seaDir = path.join(dist, 'sea')
  fs.mkdirSync(seaDir, { recursive: true })
  fs.mkdirSync(path.join(dist, 'bin'), { recursive: true })
  const seaMain = path.join(seaDir, `${name}.cjs`)
  const meta = await esbuild.build({ ...common, entryPoints: [path.join(root, entry)], outfile: seaMain, plugins: [seaAddons, ...(o.pinoAsset ? [seaPino] : [])], minify: true, metafile: true, define: { ...o.define, SEA_ADDON_HASHES: JSON.stringify(addonHashes) } })
  const bad = o.forbid && Object.keys(meta.metafile.inputs).find((f) => o.forbid.test(f))
  if (bad) throw new Error(`build: ${name} must not include ${bad} (start-up cost); check its imports`)
  const extra = Object.fromEntries(Object.entries(o.assets ?? {}).map(([k, f]) => [k, path.join(root, f)]))
  if (o.pinoAsset) extra['pino.js'] = await wrappedBundle('pino', path.join(seaDir, `${name}.pino.js`))
  shipAddons() // the training copy loads them from dist/lib/sriov-ts
  const exe = path.join(dist, 'bin', name)
  if (!o.trained) {
    inject(seaMain, { ...addons, ...extra }, exe)
  } else {
    const mainJs = path.join(seaDir, `${name}.main.js`)
    writeScriptAsset(mainJs, ['require', 'module', 'exports', '__filename', '__dirname'], fs.readFileSync(seaMain, 'utf8'))
    const loader = path.join(root, 'scripts/sea-loader.cjs')
    const training = path.join(seaDir, `${name}-training`)
    inject(loader, { ...addons, ...extra, 'main.js': mainJs, training: loader }, training, false)
    const cache = path.join(seaDir, `${name}.code-cache`)
    const { trainCodeCache, VERB_CACHES } = await import('./train-code-cache.mjs')
    const trainedOn = trainCodeCache(training, cache)
    fs.rmSync(training) // 100 MB that only the build runs
    const caches = { '*': cache, ...Object.fromEntries(VERB_CACHES.filter((v) => fs.existsSync(`${cache}.${v}`)).map((v) => [v, `${cache}.${v}`])) }
    const packed = `${cache}s`
    const index = packCaches(caches, packed)
    // the loader's length moves every asset after it: padded until the caches start 8-byte aligned
    const source = fs.readFileSync(loader, 'utf8').replace('const CACHES = {}', `const CACHES = ${JSON.stringify(index)}`)
    const finalLoader = path.join(seaDir, `${name}.loader.cjs`)
    const injectPadded = (pad) => {
      fs.writeFileSync(finalLoader, source + ' '.repeat(pad))
      inject(finalLoader, { ...addons, ...extra, 'main.js': mainJs, 'main.caches': packed }, exe, false)
      return offsetIn(exe, packed)
    }
    let offset = injectPadded(0)
    if (offset > 0 && offset % 8 !== 0) offset = injectPadded(8 - (offset % 8))
    if (offset % 8 !== 0) console.error(`build: warning: dist/bin/${name}'s code caches are not 8-byte aligned (offset ${offset}): V8 copies them on every call`)
    console.error(`build: dist/bin/${name}: code cache from ${trainedOn}`)
  }
  console.error(`build: dist/bin/${name}`)
}

/** Writes the caches one after the other, each at an 8-byte aligned offset; returns where each is, by verb. */
function packCaches(caches, out) {
  const index = {}
  const parts = []
  let at = 0
  for (const [verb, file] of Object.entries(caches)) {
    const bytes = fs.readFileSync(file)
    index[verb] = [at, bytes.length]
    const padded = Buffer.alloc(Math.ceil(bytes.length / 8) * 8)
    bytes.copy(padded)
    parts.push(padded)
    at += padded.length
  }
  fs.writeFileSync(out, Buffer.concat(parts))
  return index
}

/** Where the bytes of `file` start in `exe` (-1 when they are not there). */
function offsetIn(exe, file) {
  const want = fs.readFileSync(file)
  const all = fs.readFileSync(exe)
  for (let i = all.indexOf(want.subarray(0, 4096)); i >= 0; i = all.indexOf(want.subarray(0, 4096), i + 1)) {
    if (all.subarray(i, i + want.length).equals(want)) return i
  }
  return -1
}

/**
 * Node with `main` and `assets` injected as a SEA blob, written to `out`. `codeCache`: Node's own cache of
 * `main`'s top level (the loader needs none, and Node warns on stderr whenever V8 refuses it).
 */
function inject(main, assets, out, codeCache = true) {
  const blob = path.join(dist, 'sea', `${path.basename(out)}.blob`)
  const configFile = path.join(dist, 'sea', `${path.basename(out)}.sea-config.json`)
  fs.writeFileSync(configFile, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: codeCache, assets }))
  execFileSync(process.execPath, ['--experimental-sea-config', configFile], { stdio: 'pipe' })
  const tmp = `${out}.tmp`
  fs.copyFileSync(process.execPath, tmp)
  // postject warns about ELF note sections it does not parse; its output is only shown on failure
  execFileSync(process.execPath, [require.resolve('postject/dist/cli.js'), tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { stdio: 'pipe' })
  fs.chmodSync(tmp, 0o755)
  fs.renameSync(tmp, out)
}

/**
 * The addons also as files beside the executables (dist/lib/sriov-ts/<hash>-<name>, the image's
 * /usr/lib/sriov-ts): loaded from there, read-only, when they match the embedded copies (host/native.ts).
 */
function shipAddons() {
  const libDir = path.join(dist, 'lib', 'sriov-ts')
  fs.rmSync(libDir, { recursive: true, force: true })
  fs.mkdirSync(libDir, { recursive: true, mode: 0o755 })
  fs.chmodSync(libDir, 0o755)
  for (const [name, file] of Object.entries(addons)) {
    const out = path.join(libDir, `${addonHashes[name]}-${name}`)
    fs.copyFileSync(file, out)
    fs.chmodSync(out, 0o644)
  }
}

/** A bundle run by node (the demo, VM guest programs, bench helpers); the addons come from node_modules. */
async function bundle(entry, outfile) {
  await esbuild.build({ ...common, entryPoints: [path.join(root, entry)], outfile: path.join(dist, outfile), external: ['netlink', 'koffi'] })
  console.error(`build: dist/${outfile}`)
}

const targets = {
  // a V8 start-up snapshot would save the CNI ~12 ms per call, but V8 refuses a snapshot on a CPU whose
  // features differ from the build machine's ("Invalid snapshot data"): the image runs on any node, so no
  sriov: () => executable('sriov', 'cni/main.ts', { forbid: /@grpc|prom-client|node_modules\/pino\//, trained: true, pinoAsset: true }),
  sriovdp: async () => {
    // the first discovery runs on a worker thread; the worker's code rides in the bundle as a string
    const worker = (await esbuild.build({ ...common, entryPoints: [path.join(root, 'host/discovery-worker.ts')], minify: true, write: false })).outputFiles[0].text
    await executable('sriovdp', 'deviceplugin/main.ts', { define: { PCI_DISCOVERY_WORKER: JSON.stringify(worker) }, assets: { 'deviceplugin.proto': 'proto/deviceplugin.proto', 'pluginregistration.proto': 'proto/pluginregistration.proto' } })
  },
  demo: () => bundle('scripts/demo.ts', 'demo.cjs'),
  'vm-guests': async () => {
    for (const f of fs.readdirSync(path.join(root, 'test/vm/guest'))) if (f.endsWith('.ts') && f !== 'guest.ts') await bundle(`test/vm/guest/${f}`, `vm/${f.replace(/\.ts$/, '.cjs')}`)
  },
  bench: async () => {
    await bundle('test/helpers/fake-sysfs.ts', 'bench/fake-sysfs.cjs')
    await bundle('bench/dp.ts', 'bench/dp.cjs')
    await bundle('ipam/host-local.ts', 'bench/host-local.cjs')
    await bundle('protocol/netconf.ts', 'bench/netconf.cjs')
  },
}

const asked = process.argv.slice(2)
for (const name of asked.length ? asked : ['sriov', 'sriovdp']) {
  if (!targets[name]) throw new Error(`build: unknown target ${name}; targets: ${Object.keys(targets).join(', ')}`)
  await targets[name]()
}
