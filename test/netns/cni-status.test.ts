import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { sriovNode } from '../helpers/sriov-node'

t.test('STATUS: ready when state and IPAM stores are writable, error 50 when not, error 1 below 1.1.0', async (t) => {
  const node = sriovNode(t, 'tst')
  const conf = node.conf({}, '1.1.0')
  t.equal((await node.run('STATUS', conf)).code, 0)
  fs.writeFileSync(path.join(node.dir, 'not-a-dir'), '')
  const bad = await node.run('STATUS', conf, { env: { SRIOV_STATE_DIR: path.join(node.dir, 'not-a-dir', 'state') } })
  t.match(bad.json, { code: 50, msg: /state directory .* is not writable/ })
  const badIpam = await node.run('STATUS', { ...conf, ipam: { type: 'host-local', dataDir: path.join(node.dir, 'not-a-dir', 'ipam'), ranges: [[{ subnet: '10.1.0.0/24' }]] } })
  t.match(badIpam.json, { code: 50, msg: /IPAM is not available/ })
  t.match((await node.run('STATUS', node.conf({}, '1.0.0'))).json, { code: 1 })
})
