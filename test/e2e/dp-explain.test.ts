// `sriovdp explain` on the seeds' layouts: every PCI network function and, per resource, offered or the
// first reason it is not; the same explanation under /status of the running daemon.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { buildFakeSysfs, fourPorts2019, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { dpRun, freePort, SRIOVDP_BIN } from '../helpers/sriovdp'

const X540_VFS = x540().vfs.map((v) => v.pci)

/** Runs `sriovdp explain` on a fake sysfs tree built from `layout`, with `config` written to a file. */
function explain(t: tap.Test, layout: Parameters<typeof buildFakeSysfs>[1], config: object | string, args: string[] = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'explain-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  buildFakeSysfs(path.join(dir, 'sys'), layout)
  const file = path.join(dir, 'config.json')
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config))
  const r = spawnSync(SRIOVDP_BIN, ['explain', '--config-file', file, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SRIOV_SYSFS_ROOT: path.join(dir, 'sys'), SRIOV_ADDON_DIR: path.join(os.tmpdir(), 'sriov-ts-addons') },
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) }
}

t.test('X540 and a config that matches nothing: every function, each with the field, the value read and the values wanted', async (t) => {
  const cfg = { resourceList: [{ resourceName: 'mlx', selectors: { vendors: ['15b3'] } }] }
  const text = explain(t, [x540()], cfg)
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, /PCI network functions on this node \(9\)/)
  t.match(text.stdout, /0000:01:00\.0\s+8086:1528\s+ixgbe\s+eno2\s+PF, 8 VFs, NUMA 0/)
  t.match(text.stdout, /0000:01:10\.1\s+8086:1515\s+ixgbevf\s+eno2v0\s+VF 0 of eno2/)
  t.match(text.stdout, /intel\.com\/mlx: 0 offered, 0 healthy \(kubelet allocatable 0\)/)
  t.match(text.stdout, /0000:01:11\.7\s+not offered: selectors\.vendors: read 8086, wanted 15b3/)
  const json = explain(t, [x540()], cfg, ['--json']).json()
  t.equal(json.functions.length, 9)
  t.same(json.resources.map((r: any) => [r.resource, r.offered]), [['intel.com/mlx', 0]])
  t.same(json.resources[0].functions.map((f: any) => [f.pci, f.reason.kind, f.reason.field, f.reason.read, f.reason.wanted]), ['0000:01:00.0', ...X540_VFS].map((pci) => [pci, 'selector', 'selectors.vendors', '8086', ['15b3']]))
})

t.test('the 2019 layout and a config that matches a PF with VFs: the PF is excluded as such, its VFs by the selector', async (t) => {
  const json = explain(t, fourPorts2019(), { resourceList: [{ resourceName: 'pf', selectors: { pciAddresses: ['02:00.0'] } }] }, ['--json']).json()
  const [r] = json.resources
  t.equal(r.offered, 0)
  const pf = r.functions.find((f: any) => f.pci === '0000:02:00.0')
  t.match(pf.reason, { kind: 'pf-with-vfs', text: /a PF with 4 VFs configured is never offered \(its VFs are\)/ })
  const vf = r.functions.find((f: any) => f.pci === '0000:02:10.0')
  t.match(vf.reason, { kind: 'selector', field: 'selectors.pciAddresses', read: '0000:02:10.0', wanted: ['0000:02:00.0'] })
  t.equal(r.functions.length, 20, '4 PFs and their 16 VFs')

  // the seed's own 2019 config on its layout: the VFs offered, the PFs never (rootDevices names them)
  const seed = fs.readFileSync(path.join(__dirname, '../fixtures/seed-configs/sriovdp-config-2019-rootdevices.json'), 'utf8')
  const both = explain(t, fourPorts2019(), seed, ['--json']).json()
  t.same(both.resources.map((x: any) => [x.resource, x.offered]), [['intel.com/sriov_net_A', 8], ['intel.com/sriov_net_B', 8]])
  t.match(both.resources[0].functions.find((f: any) => f.pci === '0000:02:00.0').reason, { kind: 'selector', field: 'selectors.rootDevices', text: /a PF is never selected by rootDevices/ })
  t.match(both.resources[1].functions.find((f: any) => f.pci === '0000:02:10.0').reason, { kind: 'selector', field: 'selectors.rootDevices', read: '0000:02:00.0#0', wanted: ['0000:02:00.1', '0000:02:00.3'] })
})

t.test('a typo in a vendor ID is named with the value the device has', async (t) => {
  const seed = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/seed-configs/sriovdp-config-x540.json'), 'utf8'))
  seed.resourceList[0].selectors.vendors = ['8068']
  const out = explain(t, [x540()], seed)
  t.equal(out.code, 0)
  t.match(out.stdout, /intel\.com\/intel_sriov_netdevice: 0 offered/)
  for (const pci of X540_VFS) t.match(out.stdout, new RegExp(`${pci.replace(/\./g, '\\.')}\\s+not offered: selectors\\.vendors: read 8086, wanted 8068`))
  // fixed, the same command shows the 8 VFs offered
  seed.resourceList[0].selectors.vendors = ['8086']
  const fixed = explain(t, [x540()], seed, ['--json']).json()
  t.same(fixed.resources[0].functions.filter((f: any) => f.offered).map((f: any) => f.pci), X540_VFS)
})

t.test('warnings and bad configs: unknown keys listed; an invalid config exits 1 naming the resource and field', async (t) => {
  const warned = explain(t, [x540()], { resourceList: [{ resourceName: 'a', selectors: { vendor: ['8086'] } }] })
  t.match(warned.stdout, /warning: resource "a"\.selectors: unknown key "vendor" ignored/)
  const bad = explain(t, [x540()], { resourceList: [{ resourceName: 'x', selectors: { pfNames: ['eno2#3-1'] } }] })
  t.equal(bad.code, 1)
  t.match(bad.stderr, /resource "x"\.selectors\.pfNames: range "3-1" in "eno2#3-1" ends before it starts/)
})

t.test('/status of the running daemon carries the same explanation', async (t) => {
  const cfg = { resourceList: [{ resourceName: 'first', selectors: { drivers: ['ixgbevf'] } }, { resourceName: 'second', selectors: { vendors: ['8086'] } }] }
  const dp = dpRun(t, cfg)
  buildFakeSysfs(dp.sysfs, [x540()])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  const port = await freePort()
  dp.start(['--http-addr', `127.0.0.1:${port}`])
  await k.waitForList('intel.com/first', (l) => l.length === 8)
  await k.waitFor(() => dp.logs().some((l) => l.msg === 'HTTP endpoints listening'), 'HTTP up')
  const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as any
  const second = status.explain.resources.find((r: any) => r.resource === 'intel.com/second')
  t.match(second.functions.find((f: any) => f.pci === '0000:01:10.1').reason, { kind: 'taken', by: 'intel.com/first' })
  t.match(second.functions.find((f: any) => f.pci === '0000:01:00.0').reason, { kind: 'pf-with-vfs' })
  t.same(status.explain.resources.map((r: any) => [r.resource, r.offered]), [['intel.com/first', 8], ['intel.com/second', 0]])
})
