// The device plugin's reconciler undoes attachments of pods whose namespace is gone, through the CNI's DEL.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import t, { type Test } from 'tap'
import { Metrics } from '../../deviceplugin/metrics'
import { Reconciler } from '../../deviceplugin/reconciler'
import { seamsFrom } from '../../host/seams'
import { StateStore } from '../../state/store'
import { addNetns, ip, linkJson } from '../helpers/netns'
import { SRIOV_BIN, sriovNode } from '../helpers/sriov-node'

t.test('an attachment whose pod namespace died is released after the grace period, and counted', async (t) => {
  const node = sriovNode(t, 'tdr')
  const dead = addNetns(t, 'tdr')
  const vf = node.vfs[0]
  const conf = node.conf({ vlan: 42 })
  t.equal((await node.run('ADD', conf, { netns: dead.path, containerId: 'dead' })).code, 0)
  ip('-n', dead.name, 'link', 'set', 'net1', 'netns', '1') // the kernel hands a physical VF back when its namespace dies
  ip('netns', 'del', dead.name)

  const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tdrbin-'))
  t.teardown(() => fs.rmSync(binDir, { recursive: true, force: true }))
  fs.symlinkSync(SRIOV_BIN, path.join(binDir, 'sriov'))
  const metrics = new Metrics()
  const rec = new Reconciler(new StateStore({ root: node.stateDir }), binDir, 60_000, pino({ level: 'silent' }), metrics, seamsFrom(node.env))
  const start = Date.now()
  t.equal(await rec.run(start), 0, 'inside the grace period nothing happens')
  t.ok(fs.existsSync(path.join(node.stateDir, 'dead-net1')))
  t.equal(await rec.run(start + 61_000), 1, 'after it the attachment is released')
  t.notOk(fs.existsSync(path.join(node.stateDir, 'dead-net1')))
  t.equal(linkJson(vf.netdev!)?.address, vf.mac, 'VF back under its name and MAC')
  t.match(node.vfConfig()['0'], { vlan: 0 })
  t.match(await metrics.registry.getSingleMetricAsString('sriovdp_reconciler_repairs_total'), /result="repaired"} 1/)
})

/** A reconciler over `node`, with its warnings collected, and the installed plugin in a bin dir of its own. */
function reconcilerOf(t: Test, node: ReturnType<typeof sriovNode>): { rec: Reconciler; warnings: string[] } {
  const binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tdrbin-'))
  t.teardown(() => fs.rmSync(binDir, { recursive: true, force: true }))
  fs.symlinkSync(SRIOV_BIN, path.join(binDir, 'sriov'))
  const warnings: string[] = []
  const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) })
  return { rec: new Reconciler(new StateStore({ root: node.stateDir }), binDir, 60_000, log, new Metrics(), seamsFrom(node.env)), warnings }
}

t.test('a live pod whose namespace path this process cannot see keeps its VF and its IP; once it dies, it is released', async (t) => {
  const node = sriovNode(t, 'tdv')
  const pod = addNetns(t, 'tdv')
  // the runtime's path for the pod: a second bind mount of the namespace, which then vanishes from this view
  // (a directory not mounted into the device plugin's container looks the same) while the pod lives on
  const seen = fs.mkdtempSync(path.join(os.tmpdir(), 'tdvns-'))
  t.teardown(() => fs.rmSync(seen, { recursive: true, force: true }))
  const alias = path.join(seen, 'pod')
  fs.writeFileSync(alias, '')
  execFileSync('mount', ['--bind', pod.path, alias])
  const conf = node.conf({ vlan: 42 })
  t.equal((await node.run('ADD', conf, { netns: alias, containerId: 'alive' })).code, 0)
  execFileSync('umount', [alias])
  const lease = () => fs.readdirSync(path.join(node.dataDir, 'sriov-201')).filter((f) => /^\d/.test(f))

  const { rec, warnings } = reconcilerOf(t, node)
  const start = Date.now()
  t.equal(await rec.run(start), 0)
  t.equal(await rec.run(start + 61_000), 0, 'nothing released after the grace period')
  t.equal(await rec.run(start + 122_000), 0)
  t.ok(fs.existsSync(path.join(node.stateDir, 'alive-net1')), 'the record stays')
  t.match(node.vfConfig()['0'], { vlan: 42 }, 'the VF config stays')
  t.same(lease(), ['192.168.201.2'], 'the lease stays')
  t.ok(ip('-n', pod.name, 'link', 'show', 'net1'), 'the netdev stays in the pod')
  t.equal(warnings.filter((w) => w.includes('not visible here')).length, 1, 'one warning, not one a pass')

  // now the pod dies: the kernel hands the VF back to the host, and the reconciler releases it
  ip('-n', pod.name, 'link', 'set', 'net1', 'netns', '1')
  ip('netns', 'del', pod.name)
  t.equal(await rec.run(start + 130_000), 0, 'a grace period starts when the death is certain')
  t.equal(await rec.run(start + 191_000), 1)
  t.notOk(fs.existsSync(path.join(node.stateDir, 'alive-net1')))
  t.same(lease(), [])
  t.match(node.vfConfig()['0'], { vlan: 0 })
  t.equal(linkJson(node.vfs[0].netdev!)?.address, node.vfs[0].mac, 'VF back under its name and MAC')
})

t.test('a DPDK attachment whose namespace directory is not there is left alone; one whose directory is there is released', async (t) => {
  const node = sriovNode(t, 'tdd', { vfs: 0, dpdkVfs: 1 })
  const vf = node.vfs[0].pci
  const pod = addNetns(t, 'tdd')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tddns-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const alias = path.join(dir, 'netns', 'pod')
  fs.mkdirSync(path.dirname(alias))
  fs.writeFileSync(alias, '')
  execFileSync('mount', ['--bind', pod.path, alias])
  t.equal((await node.run('ADD', node.conf({ deviceID: vf, vlan: 7, ipam: undefined }), { netns: alias, containerId: 'dpdk' })).code, 0)
  execFileSync('umount', [alias])
  fs.rmSync(path.dirname(alias), { recursive: true })

  const { rec, warnings } = reconcilerOf(t, node)
  const start = Date.now()
  t.equal(await rec.run(start), 0)
  t.equal(await rec.run(start + 61_000), 0, 'its directory missing: nothing released')
  t.match(node.vfConfig()['0'], { vlan: 7 })
  t.match(warnings.join('\n'), /is not there/)

  fs.mkdirSync(path.dirname(alias)) // the directory is seen again, and the pod's file is not in it
  t.equal(await rec.run(start + 62_000), 0)
  t.equal(await rec.run(start + 123_000), 1, 'released after the grace period')
  t.notOk(fs.existsSync(path.join(node.stateDir, 'dpdk-net1')))
  t.match(node.vfConfig()['0'], { vlan: 0 })
})
