// Builds bench/dp.ts (it uses the test helpers: fake sysfs, kubelet stand-in) and runs it. Root only.
// Usage: node bench/dp.mjs [starts] (default 7 daemon starts for the start-up figure)
import { execFileSync } from 'node:child_process'
import path from 'node:path'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')
const out = path.join(root, 'dist/bench/dp.cjs')
execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs'), 'bench'], { stdio: 'inherit' })
execFileSync(process.execPath, [out, ...process.argv.slice(2)], { stdio: 'inherit' })
