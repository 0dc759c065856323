import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import esbuild from 'esbuild'
import t from 'tap'
import { discoverInBackground } from '../../host/discovery'
import { listPciDevices } from '../../host/pci'
import { Sysfs } from '../../host/sysfs'
import { buildFakeSysfs, x540 } from '../helpers/fake-sysfs'

// the worker as the build makes it: host/discovery-worker.ts bundled into one script
const workerSource = esbuild.buildSync({ entryPoints: [path.join(__dirname, '../../host/discovery-worker.ts')], bundle: true, platform: 'node', format: 'cjs', write: false }).outputFiles[0].text

t.test('the first discovery on a worker thread finds what a pass on this thread finds', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sysfs-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  buildFakeSysfs(root, [x540(), { pci: '0000:02:00.0', name: 'ens2', vfs: [{ pci: '0000:02:10.0', driver: 'vfio-pci', iommuGroup: 9 }] }])
  const s = new Sysfs(root)
  const here = listPciDevices(s, { linkTypes: true })
  t.equal(here.length, 11)
  t.same(await discoverInBackground({ linkTypes: true }, s, workerSource), here, 'worker thread')
  // the worker's answer is what is used (a stand-in worker that answers with nothing)
  t.same(await discoverInBackground({}, s, 'require("node:worker_threads").parentPort.postMessage({ devices: [] })'), [], 'the answer comes from the worker')
  t.same(await discoverInBackground({ linkTypes: true }, s, undefined), here, 'no worker built in: this thread')
  // a worker that fails or dies without answering only costs time: the pass is redone here
  t.same(await discoverInBackground({ linkTypes: true }, s, 'throw new Error("broken worker")'), here, 'worker throws')
  t.same(await discoverInBackground({ linkTypes: true }, s, 'process.exit(3)'), here, 'worker exits without an answer')
  t.same(await discoverInBackground({ linkTypes: true }, s, 'this is not JavaScript'), here, 'worker does not parse')
})
