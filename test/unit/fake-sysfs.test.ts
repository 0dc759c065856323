import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { resolveVf } from '../../host/vf-device'
import { Sysfs } from '../../host/sysfs'
import { buildFakeSysfs } from '../helpers/fake-sysfs'

t.test('VF resolution from sysfs: PF, index, netdev, DPDK mode, and clear errors', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sysfs-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  buildFakeSysfs(root, [{ pci: '0000:01:00.0', name: 'eno2', vfs: [
    { pci: '0000:01:10.1', netdev: 'eno2v0' },
    { pci: '0000:01:10.3', driver: 'vfio-pci', iommuGroup: 42 },
  ] }])
  const s = new Sysfs(root)
  t.same(resolveVf('0000:01:10.1', s), { pci: '0000:01:10.1', pfName: 'eno2', pfPci: '0000:01:00.0', vfIndex: 0, netdev: 'eno2v0', driver: 'ixgbevf', dpdk: false })
  t.same(resolveVf('0000:01:10.3', s), { pci: '0000:01:10.3', pfName: 'eno2', pfPci: '0000:01:00.0', vfIndex: 1, driver: 'vfio-pci', dpdk: true })
  t.throws(() => resolveVf('0000:09:00.0', s), /not found.*check deviceID/)
  t.throws(() => resolveVf('0000:01:00.0', s), /not an SR-IOV VF/)
})
