// The Go device plugin's behaviours that sriov-network-operator's users rely on, one test each, through the
// sriovdp executable and the kubelet stand-in: config keys decoded as Go decodes them, isRdma and needVhostNet
// as Go reads them, the PCIDEVICE_* names, glog's flags and --use-cdi.
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { parseAllDocuments } from 'yaml'
import { validateCdiSpec } from '../helpers/cdi-schema'
import { buildFakeSysfs, x540 } from '../helpers/fake-sysfs'
import { KubeletStandIn } from '../helpers/kubelet'
import { ROOT } from '../helpers/plugin-exec'
import { dpRun, type DpRun } from '../helpers/sriovdp'

const OPERATOR_CONFIG = parseAllDocuments(fs.readFileSync(path.join(ROOT, 'test/fixtures/operator/device-plugin-config.yaml'), 'utf8'))[0].toJS().data as Record<string, string>
const ALL_VFS = ['0000:01:10.1', '0000:01:10.3', '0000:01:10.5', '0000:01:10.7', '0000:01:11.1', '0000:01:11.3', '0000:01:11.5', '0000:01:11.7']

/** sriovdp on the X540 layout (VFs 1 and 4 with an RDMA device, 6 and 7 on vfio-pci) with `config`, served to kubelet. */
async function serving(t: Test, config: object | string, args: string[] | ((dp: DpRun) => string[]) = []): Promise<{ dp: DpRun; k: KubeletStandIn }> {
  const dp = dpRun(t, config)
  const pf = x540()
  pf.vfs[1].rdma = true
  pf.vfs[4].rdma = true
  Object.assign(pf.vfs[6], { driver: 'vfio-pci', iommuGroup: 71, netdev: undefined })
  Object.assign(pf.vfs[7], { driver: 'vfio-pci', iommuGroup: 72, netdev: undefined })
  buildFakeSysfs(dp.sysfs, [pf])
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => k.stop())
  dp.start(typeof args === 'function' ? args(dp) : args)
  return { dp, k }
}

const ids = (l: { ID: string }[]) => l.map((d) => d.ID)
const warnings = (dp: DpRun) => dp.logs().filter((l) => l.level === 40).map((l) => l.msg)

t.test('the operator\'s ConfigMap as written: "IsRdma", "NeedVhostNet" in any case, "SelectorObj" ignored with one warning', async (t) => {
  const { dp, k } = await serving(t, OPERATOR_CONFIG['worker-0'], ['--resource-prefix', 'openshift.io'])
  t.same(ids(await k.waitForList('openshift.io/intel_sriov_netdevice', (l) => l.length === 6, 20000)), ALL_VFS.slice(0, 6))
  t.same(ids(await k.waitForList('openshift.io/sriov-dpdk', (l) => l.length === 2, 20000)), ALL_VFS.slice(6))
  t.same(warnings(dp).filter((w) => /unknown key/.test(w)), ['resource "intel_sriov_netdevice", resource "sriov-dpdk": unknown key "SelectorObj" ignored'])
  // every key in any case, as Go's encoding/json matches them
  dp.writeConfig('{"ResourceList":[{"ResourceName":"shouty","ResourcePrefix":"example.com","Selectors":{"PCIADDRESSES":["0000:01:10.1"],"isrdma":false}}]}')
  t.same(ids(await k.waitForList('example.com/shouty', (l) => l.length === 1, 20000)), ['0000:01:10.1'])
})

t.test('isRdma: false selects nothing (an RDMA-capable VF stays); true selects only RDMA VFs', async (t) => {
  const { k } = await serving(t, { resourceList: [{ resourceName: 'plain', selectors: { pfNames: ['eno2#0-1'], isRdma: false } }, { resourceName: 'rdma', selectors: { pfNames: ['eno2#2-5'], isRdma: true } }] })
  t.same(ids(await k.waitForList('intel.com/plain', (l) => l.length === 2, 20000)), ALL_VFS.slice(0, 2), 'VF 1 has an RDMA device and is selected')
  t.same(ids(await k.waitForList('intel.com/rdma', (l) => l.length === 1, 20000)), [ALL_VFS[4]], 'of VFs 2-5 only VF 4 has an RDMA device')
})

t.test('needVhostNet selects nothing; without /dev/vhost-net the VF is allocated without it, with a warning', { skip: fs.existsSync('/dev/vhost-net') && 'this host has /dev/vhost-net (the operator tier tests both cases in a container)' }, async (t) => {
  const { dp, k } = await serving(t, { resourceList: [{ resourceName: 'dpdk', selectors: { drivers: ['vfio-pci'], needVhostNet: true } }] })
  t.same(ids(await k.waitForList('intel.com/dpdk', (l) => l.length === 2, 20000)), ALL_VFS.slice(6))
  const a = await k.call('intel.com/dpdk', 'Allocate', { container_requests: [{ devices_ids: ['0000:01:11.5'] }] })
  t.same(a.container_responses[0].devices.map((d: any) => d.host_path), ['/dev/vfio/vfio', '/dev/vfio/71'])
  await k.waitFor(() => warnings(dp).some((w) => /needVhostNet: \/dev\/vhost-net does not exist on this node/.test(w)), 'the warning logged')
  t.pass('warned that vhost-net is missing')
})

t.test('PCIDEVICE_<prefix>_<name>: upper case, dots made underscores, nothing else changed', async (t) => {
  const { k } = await serving(t, { resourceList: [{ resourceName: 'sriov-net', resourcePrefix: 'example.com', selectors: { pciAddresses: ['0000:01:10.1'] } }] })
  await k.waitForList('example.com/sriov-net', (l) => l.length === 1, 20000)
  const a = await k.call('example.com/sriov-net', 'Allocate', { container_requests: [{ devices_ids: ['0000:01:10.1'] }] })
  t.same(Object.keys(a.container_responses[0].envs).sort(), ['PCIDEVICE_EXAMPLE_COM_SRIOV-NET', 'PCIDEVICE_EXAMPLE_COM_SRIOV-NET_INFO'])
})

t.test('glog\'s flags as the Go image passes them: -v N, --logtostderr, --log_dir with --alsologtostderr, Go\'s single dash', async (t) => {
  const seed = { resourceList: [{ resourceName: 'a', selectors: { pciAddresses: ['0000:01:10.1'] } }] }
  const loud = await serving(t, seed, ['-v', '10', '--logtostderr', '-resource-prefix=example.com'])
  await loud.k.waitForList('example.com/a', (l) => l.length === 1, 20000)
  await loud.k.call('example.com/a', 'Allocate', { container_requests: [{ devices_ids: ['0000:01:10.1'] }] })
  await loud.k.waitFor(() => loud.dp.logs().some((l) => l.msg === 'Allocate' && l.level === 20), '-v 10: a debug line for Allocate')
  t.pass('-v 10: debug lines')

  const filed = await serving(t, seed, (dp) => {
    fs.mkdirSync(path.join(dp.dir, 'log')) // as glog, a directory that exists (the Go image's entrypoint makes it)
    return ['--v=2', '--log_dir', path.join(dp.dir, 'log'), '--alsologtostderr']
  })
  await filed.k.waitForList('intel.com/a', (l) => l.length === 1, 20000)
  await filed.k.call('intel.com/a', 'Allocate', { container_requests: [{ devices_ids: ['0000:01:10.1'] }] })
  filed.dp.child!.kill('SIGTERM') // every line written once it has exited
  t.equal(await filed.dp.exited(), 0)
  const file = fs.readFileSync(path.join(filed.dp.dir, 'log', 'sriovdp.log'), 'utf8')
  t.match(file, /"msg":"sriovdp started"/, '--log_dir: the log in <dir>/sriovdp.log')
  t.match(filed.dp.stderr, /"msg":"sriovdp started"/, '--alsologtostderr: and on stderr')
  t.notMatch(file + filed.dp.stderr, /"msg":"Allocate"/, '--v=2: no debug lines')

  const missing = await serving(t, seed, ['--log_dir', '/nonexistent/sriovdp'])
  t.equal(await missing.dp.exited(), 1)
  t.match(missing.dp.stderr, /^sriovdp: --log_dir: cannot write \/nonexistent\/sriovdp\/sriovdp\.log: ENOENT/m)

  const bad = await serving(t, seed, ['--log-level=loud'])
  t.equal(await bad.dp.exited(), 2)
  t.match(bad.dp.stderr, /--log-level: "loud" must be a glog verbosity/)
})

t.test('--use-cdi: a CDI spec per resource, valid for the CDI schema; Allocate names CDI devices instead of device nodes', async (t) => {
  const config = { resourceList: [{ resourceName: 'dpdk', selectors: { drivers: ['vfio-pci'] } }, { resourceName: 'net', selectors: { drivers: ['ixgbevf'] } }] }
  const { dp, k } = await serving(t, config, (dp) => ['--use-cdi', '--cdi-spec-dir', path.join(dp.dir, 'cdi')])
  await k.waitForList('intel.com/dpdk', (l) => l.length === 2, 20000)
  await k.waitForList('intel.com/net', (l) => l.length === 6, 20000)
  const dir = path.join(dp.dir, 'cdi')
  t.same(fs.readdirSync(dir), ['sriov-dp-intel.com-net-pci-dpdk.json'], 'the Go plugin\'s file name; no spec for VFs without device nodes')
  const file = path.join(dir, 'sriov-dp-intel.com-net-pci-dpdk.json')
  t.same(validateCdiSpec(file), [])
  t.match(JSON.parse(fs.readFileSync(file, 'utf8')), { cdiVersion: '0.5.0', kind: 'intel.com/net-pci', devices: [{ name: '0000:01:11.5' }, { name: '0000:01:11.7' }] })
  const a = await k.call('intel.com/dpdk', 'Allocate', { container_requests: [{ devices_ids: ['0000:01:11.7'] }] })
  t.same(a.container_responses[0].cdi_devices, [{ name: 'intel.com/net-pci=0000:01:11.7' }])
  t.same(a.container_responses[0].devices, [])
  t.equal(a.container_responses[0].envs.PCIDEVICE_INTEL_COM_DPDK, '0000:01:11.7')
  dp.child!.kill('SIGTERM')
  t.equal(await dp.exited(), 0)
  t.same(fs.readdirSync(dir), [], 'removed on exit')

  const off = await serving(t, config, (dp) => ['--use-cdi=false', '--cdi-spec-dir', path.join(dp.dir, 'cdi')])
  await off.k.waitForList('intel.com/dpdk', (l) => l.length === 2, 20000)
  const b = await off.k.call('intel.com/dpdk', 'Allocate', { container_requests: [{ devices_ids: ['0000:01:11.7'] }] })
  t.same(b.container_responses[0].devices.map((d: any) => d.host_path), ['/dev/vfio/vfio', '/dev/vfio/72'], '--use-cdi=false (Go\'s boolean form): device nodes')
  t.notOk(fs.existsSync(path.join(off.dp.dir, 'cdi')))
})
