// The device plugin's reconciler undoes attachments of pods whose namespace is gone, through the CNI's DEL.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pino from 'pino'
import t from 'tap'
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
