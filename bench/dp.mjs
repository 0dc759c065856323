// Bundles bench/dp.ts (it uses the test helpers: fake sysfs, kubelet stand-in) and runs it. Root only.
// Usage: node bench/dp.mjs [starts] (default 7 daemon starts for the start-up figure)
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import esbuild from 'esbuild'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const out = path.join(root, 'dist/bench/dp.cjs')
await esbuild.build({ entryPoints: [path.join(root, 'bench/dp.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: out, external: ['netlink', 'koffi'], logLevel: 'error' })
execFileSync(process.execPath, [out, ...process.argv.slice(2)], { stdio: 'inherit' })
