// Builds dist/sriov.cjs and dist/sriovdp.cjs (bundles run with node: fast for tests) and the single
// executables dist/bin/sriov and dist/bin/sriovdp (Node SEA with code cache, native addons as assets).
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

const addons = {
  'netlink.node': path.join(path.dirname(require.resolve('netlink/package.json')), 'prebuilds', 'linux-x64', 'node.napi.node'),
  'koffi.node': path.join(path.dirname(require.resolve('@koromix/koffi-linux-x64/package.json')), 'linux_x64', 'koffi.node'),
}

const addonHashes = Object.fromEntries(Object.entries(addons).map(([name, file]) => [name, createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 16)]))

// The addons also as files beside the executables (dist/lib/sriov-ts/<hash>-<name>, the image's
// /usr/lib/sriov-ts): loaded from there, read-only, when they equal the embedded copies (host/native.ts)
const libDir = path.join(dist, 'lib', 'sriov-ts')
fs.rmSync(libDir, { recursive: true, force: true })
fs.mkdirSync(libDir, { recursive: true, mode: 0o755 })
fs.chmodSync(libDir, 0o755)
for (const [name, file] of Object.entries(addons)) {
  const out = path.join(libDir, `${addonHashes[name]}-${name}`)
  fs.copyFileSync(file, out)
  fs.chmodSync(out, 0o644)
}

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', loader: { '.proto': 'text' }, legalComments: 'none' }

// In the SEA, the packages' own addon lookups become loads from SEA assets (host/native.ts).
const seaAddons = {
  name: 'sea-addons',
  setup(build) {
    build.onResolve({ filter: /^node-gyp-build$/ }, () => ({ path: 'netlink', namespace: 'sea-addon' }))
    build.onResolve({ filter: /^@koromix\/koffi-linux-x64$/ }, () => ({ path: 'koffi', namespace: 'sea-addon' }))
    build.onResolve({ filter: /^@koromix\/koffi-/ }, (a) => ({ path: a.path, external: true }))
    build.onLoad({ filter: /.*/, namespace: 'sea-addon' }, (a) => ({
      contents: a.path === 'netlink'
        ? `const { loadSeaAddon } = require(${JSON.stringify(path.join(root, 'host/native.ts'))}); module.exports = () => loadSeaAddon('netlink.node')`
        : `const { loadSeaAddon } = require(${JSON.stringify(path.join(root, 'host/native.ts'))}); module.exports = loadSeaAddon('koffi.node')`,
      resolveDir: root,
      loader: 'js',
    }))
  },
}

// sriovdp's first discovery runs on a worker thread; the worker's code rides in the bundle as a string
const discoveryWorker = (await esbuild.build({ ...common, entryPoints: [path.join(root, 'host/discovery-worker.ts')], minify: true, write: false })).outputFiles[0].text

const programs = [
  // a V8 start-up snapshot would save the CNI ~12 ms per call, but V8 refuses a snapshot on a CPU whose
  // features differ from the build machine's ("Invalid snapshot data"): the image runs on any node, so no
  { name: 'sriov', entry: 'cni/main.ts', forbid: /@grpc|prom-client/ },
  { name: 'sriovdp', entry: 'deviceplugin/main.ts', define: { PCI_DISCOVERY_WORKER: JSON.stringify(discoveryWorker) }, assets: { 'deviceplugin.proto': 'proto/deviceplugin.proto', 'pluginregistration.proto': 'proto/pluginregistration.proto' } },
]

fs.mkdirSync(path.join(dist, 'bin'), { recursive: true })
for (const p of programs) {
  const entry = path.join(root, p.entry)
  if (!fs.existsSync(entry)) {
    console.error(`build: ${p.entry} does not exist yet, skipping ${p.name}`)
    continue
  }
  const bundle = path.join(dist, `${p.name}.cjs`)
  const meta = await esbuild.build({ ...common, entryPoints: [entry], outfile: bundle, external: ['netlink', 'koffi'], metafile: true, define: p.define ?? {} })
  if (p.forbid) {
    const bad = Object.keys(meta.metafile.inputs).filter((f) => p.forbid.test(f))
    if (bad.length) throw new Error(`build: ${p.name} must not include ${bad[0]} (start-up cost); check its imports`)
  }
  const seaDir = path.join(dist, 'sea')
  fs.mkdirSync(seaDir, { recursive: true })
  const seaMain = path.join(seaDir, `${p.name}.cjs`)
  await esbuild.build({ ...common, entryPoints: [entry], outfile: seaMain, plugins: [seaAddons], minify: true, define: { ...p.define, SEA_ADDON_HASHES: JSON.stringify(addonHashes) } })
  const blob = path.join(seaDir, `${p.name}.blob`)
  const extra = Object.fromEntries(Object.entries(p.assets ?? {}).map(([k, f]) => [k, path.join(root, f)]))
  const config = { main: seaMain, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets: { ...addons, ...extra } }
  const configFile = path.join(seaDir, `${p.name}.sea-config.json`)
  fs.writeFileSync(configFile, JSON.stringify(config))
  execFileSync(process.execPath, ['--experimental-sea-config', configFile], { stdio: 'pipe' })
  const exe = path.join(dist, 'bin', p.name)
  const tmp = `${exe}.tmp`
  fs.copyFileSync(process.execPath, tmp)
  // postject warns about ELF note sections it does not parse; its output is only shown on failure
  execFileSync(process.execPath, [require.resolve('postject/dist/cli.js'), tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE], { stdio: 'pipe' })
  fs.chmodSync(tmp, 0o755)
  fs.renameSync(tmp, exe)
  console.error(`build: dist/${p.name}.cjs, dist/bin/${p.name}`)
}
