// Records the V8 code cache of the `sriov` executable: a training copy of it (scripts/sea-loader.cjs) runs
// VERSION, then, where the build may create network namespaces (root, with iproute2), ADD, CHECK, STATUS and
// DEL on a veth standing in for a VF (a scratch sysfs, the VF config record, state and IPAM in a temporary
// directory), each call extending the cache the one before it wrote. Elsewhere (an image build without
// CAP_NET_ADMIN) the cache holds what VERSION compiles, and a call compiles the rest as it goes.
// ADD and DEL, the verbs a runtime waits on, also get a cache of their own (VERSION's and that verb's code):
// V8 reads a whole cache before the first line runs, and the union of every verb's costs them ~1 ms more.
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import esbuild from 'esbuild'

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..')

/** The verbs with a cache of their own, written to `<out>.<VERB>`. */
export const VERB_CACHES = ['ADD', 'DEL']

/** Writes the cache to `out` (and the verbs' own to `<out>.<VERB>`); returns the verbs it was recorded on. */
export function trainCodeCache(training, out) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sriov-train-'))
  for (const f of [out, ...VERB_CACHES.map((v) => `${out}.${v}`)]) fs.rmSync(f, { force: true })
  const base = `${out}.base`
  // `from`: the cache this call starts from (default: the one the call before it wrote); `to`: where its cache goes
  const run = (command, env = {}, input = '', { from = out, to = out } = {}) => {
    const next = `${to}.next`
    const r = spawnSync(training, [], { input, encoding: 'utf8', env: { PATH: process.env.PATH, CNI_COMMAND: command, ...env, SRIOV_CODE_CACHE_IN: from, SRIOV_CODE_CACHE_OUT: next } })
    if (r.status !== 0 || /code cache rejected/.test(r.stderr)) throw new Error(`${command} failed (exit ${r.status}): ${r.stdout}${r.stderr}`.trim())
    fs.renameSync(next, to)
    return r.stdout
  }
  const verbs = ['VERSION']
  try {
    run('VERSION', {}, '{"cniVersion":"1.1.0"}')
    fs.copyFileSync(out, base)
    try {
      scenario(work, run, verbs, base, out)
    } catch (e) {
      for (const v of VERB_CACHES) fs.rmSync(`${out}.${v}`, { force: true })
      console.error(`build: code cache recorded on ${verbs.join(', ')} only: ${e.message.split('\n')[0]}`)
    }
  } finally {
    fs.rmSync(base, { force: true })
    fs.rmSync(work, { recursive: true, force: true })
  }
  return verbs.join(', ')
}

function scenario(work, run, verbs, base, out) {
  if (process.getuid?.() !== 0) throw new Error('not root: no namespace to train in')
  const ip = (...a) => execFileSync('ip', a, { stdio: 'pipe' })
  const ns = `sriovtrain${process.pid}`
  const veth = `srtr${process.pid % 100000}`
  ip('netns', 'add', ns)
  try {
    ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`)
    ip('link', 'set', `${veth}p`, 'up')
    const helper = path.join(work, 'fake-sysfs.cjs')
    esbuild.buildSync({ entryPoints: [path.join(root, 'test/helpers/fake-sysfs.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: helper, logLevel: 'error' })
    const { buildFakeSysfs } = createRequire(import.meta.url)(helper)
    buildFakeSysfs(path.join(work, 'sys'), [{ pci: '0000:01:00.0', name: 'trainpf', vfs: [{ pci: '0000:01:10.0', netdev: veth }] }])
    const env = {
      CNI_CONTAINERID: 'train', CNI_NETNS: `/var/run/netns/${ns}`, CNI_IFNAME: 'net1', CNI_PATH: '/nonexistent',
      SRIOV_SYSFS_ROOT: path.join(work, 'sys'), SRIOV_VF_CONFIG: `record:${path.join(work, 'vf')}`, SRIOV_STATE_DIR: path.join(work, 'state'),
    }
    const conf = {
      cniVersion: '1.1.0', name: 'train', type: 'sriov', deviceID: '0000:01:10.0', vlan: 100, mac: '02:00:00:00:00:42',
      ipam: { type: 'host-local', dataDir: path.join(work, 'ipam'), ranges: [[{ subnet: '10.60.0.0/24', gateway: '10.60.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] },
    }
    const result = JSON.parse(run('ADD', env, JSON.stringify(conf)))
    verbs.push('ADD')
    fs.copyFileSync(out, `${out}.ADD`)
    run('CHECK', env, JSON.stringify({ ...conf, prevResult: result }))
    verbs.push('CHECK')
    run('STATUS', {}, JSON.stringify(conf))
    verbs.push('STATUS')
    run('DEL', env, JSON.stringify({ ...conf, prevResult: result }))
    verbs.push('DEL')
    // DEL's own: an attachment to delete (that ADD's cache is thrown away), then DEL from VERSION's cache
    const again = JSON.parse(run('ADD', env, JSON.stringify(conf), { from: base, to: `${out}.scratch` }))
    fs.rmSync(`${out}.scratch`, { force: true })
    run('DEL', env, JSON.stringify({ ...conf, prevResult: again }), { from: base, to: `${out}.DEL` })
  } finally {
    try {
      ip('netns', 'del', ns)
    } catch {}
    try {
      ip('link', 'del', veth)
    } catch {}
  }
}
