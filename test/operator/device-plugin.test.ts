// The device plugin as sriov-network-operator runs it: its DaemonSet's container exactly as rendered (the Go
// image's arguments, readOnlyRootFilesystem, only the operator's mounts writable), its ConfigMap as its
// policy controller writes it, on the seeds' X540 node, against the kubelet stand-in in plugin-watcher mode.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import type { Device } from '../../deviceplugin/api'
import { runContainer, stderrShows, type Container } from '../helpers/container'
import { validateCdiSpec } from '../helpers/cdi-schema'
import { DPDK, DPDK_VFS, NETDEVICE, NETDEVICE_VFS, NODE_NAME, operatorNode, SEAMS, VHOST_DEV_NODES, type OperatorNode } from '../helpers/operator-node'

const logs = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))

/** kubelet's newest list of `resource` once it has `n` devices; the plugin's log in the error otherwise. */
function listOf(node: OperatorNode, dp: Container, resource: string, n: number): Promise<Device[]> {
  return node.kubelet.waitForList(resource, (l) => l.length === n, 20000).catch((e: Error) => {
    throw new Error(`${e.message}\nsriovdp: ${dp.stderr}`)
  })
}

t.test('rendered without CDI: both policies registered, Allocate with the Go plugin\'s env names and vhost-net', async (t) => {
  const node = await operatorNode(t)
  const dp = node.container('sriov-device-plugin.yaml', 'sriov-device-plugin', { devNodes: VHOST_DEV_NODES })
  const net = await listOf(node, dp, NETDEVICE, 6)
  t.same(net.map((d) => d.ID), NETDEVICE_VFS, 'eno2#0-5 with link type ether; "IsRdma": false does not drop the RDMA-capable VF 1')
  const dpdk = await listOf(node, dp, DPDK, 2)
  t.same(dpdk.map((d) => d.ID), DPDK_VFS, '"NeedVhostNet": true selects the VFs whether or not vhost-net exists')
  t.same(node.kubelet.registrations.sort(), [NETDEVICE, DPDK].sort(), 'registered through plugins_registry')

  const a = await node.kubelet.call(NETDEVICE, 'Allocate', { container_requests: [{ devices_ids: ['0000:01:10.1'] }] })
  t.same(Object.keys(a.container_responses[0].envs).sort(), ['PCIDEVICE_OPENSHIFT_IO_INTEL_SRIOV_NETDEVICE', 'PCIDEVICE_OPENSHIFT_IO_INTEL_SRIOV_NETDEVICE_INFO'])
  t.equal(a.container_responses[0].envs.PCIDEVICE_OPENSHIFT_IO_INTEL_SRIOV_NETDEVICE, '0000:01:10.1')
  t.same(a.container_responses[0].devices, [])
  t.ok(fs.existsSync(path.join(node.paths.devinfo, 'openshift.io-intel_sriov_netdevice-0000:01:10.1-device.json')), 'device-info file in the device-info volume')

  const d = await node.kubelet.call(DPDK, 'Allocate', { container_requests: [{ devices_ids: ['0000:01:11.5'] }] })
  const envs = d.container_responses[0].envs
  t.equal(envs['PCIDEVICE_OPENSHIFT_IO_SRIOV-DPDK'], '0000:01:11.5', 'only the dots become underscores, as in the Go plugin')
  t.same(JSON.parse(envs['PCIDEVICE_OPENSHIFT_IO_SRIOV-DPDK_INFO'])['0000:01:11.5'].vhost, { 'net-mount': '/dev/vhost-net', 'tun-mount': '/dev/net/tun' })
  t.same(d.container_responses[0].devices.map((s: any) => `${s.host_path}:${s.container_path}:${s.permissions}`), ['/dev/vfio/vfio:/dev/vfio/vfio:rw', '/dev/vfio/71:/dev/vfio/71:rw', '/dev/vhost-net:/dev/vhost-net:rw', '/dev/net/tun:/dev/net/tun:rw'])

  t.ok(await stderrShows(dp, (e) => logs(e).some((l) => l.msg === 'Allocate' && l.level === 20)), '--log-level=10 (glog -v 10) logs at debug and below')
  const lines = logs(dp.stderr)
  const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg)
  t.same(warnings, ['resource "intel_sriov_netdevice", resource "sriov-dpdk": unknown key "SelectorObj" ignored'], 'one warning for the unknown key, naming each place')
  // the addon came from the image's /usr/lib/sriov-ts: nothing was (or could be) written
  const maps = fs.readFileSync(`/proc/${dp.child.pid}/maps`, 'utf8')
  t.match(maps, /\/root\/usr\/lib\/sriov-ts\/[0-9a-f]{16}-netlink\.node\n/, 'netlink addon mapped from the image')

  dp.child.kill('SIGTERM')
  t.equal(await dp.exited(), 0, 'SIGTERM: clean exit')
  t.same(fs.readdirSync(node.paths.devinfo), [], 'device-info files removed')
})

t.test('sriovdp itself (its own flags, no entrypoint) under the read-only root: the addons load from the image', async (t) => {
  const node = await operatorNode(t)
  const dp = node.container('sriov-device-plugin.yaml', 'sriov-device-plugin', {
    command: ['/usr/bin/sriovdp'],
    args: ['--config-file', `/etc/pcidp/${NODE_NAME}`, '--resource-prefix', 'openshift.io', '--http-addr', ''],
  })
  t.same((await listOf(node, dp, NETDEVICE, 6)).map((d) => d.ID), NETDEVICE_VFS)
  t.notMatch(dp.stderr, /cannot load native addon/)
})

t.test('a vhost-net resource on a node without vhost-net: offered, allocated without it, a warning', async (t) => {
  const node = await operatorNode(t)
  const dp = node.container('sriov-device-plugin.yaml', 'sriov-device-plugin', { devNodes: [] })
  await listOf(node, dp, DPDK, 2)
  const d = await node.kubelet.call(DPDK, 'Allocate', { container_requests: [{ devices_ids: ['0000:01:11.7'] }] })
  t.same(d.container_responses[0].devices.map((s: any) => s.host_path), ['/dev/vfio/vfio', '/dev/vfio/72'])
  t.notOk(JSON.parse(d.container_responses[0].envs['PCIDEVICE_OPENSHIFT_IO_SRIOV-DPDK_INFO'])['0000:01:11.7'].vhost)
  t.ok(await stderrShows(dp, (e) => logs(e).some((l) => l.level === 40 && /needVhostNet: \/dev\/vhost-net does not exist on this node/.test(l.msg))), 'warned')
})

t.test('--use-cdi: CDI spec files as the Go plugin names them, valid for the CDI schema; Allocate answers with CDI names', async (t) => {
  const node = await operatorNode(t)
  const dp = node.container('sriov-device-plugin-cdi.yaml', 'sriov-device-plugin', { devNodes: VHOST_DEV_NODES })
  await listOf(node, dp, DPDK, 2)
  await listOf(node, dp, NETDEVICE, 6)
  // netdevice VFs bring no device node: CDI refuses a device without edits, so that resource has no spec
  t.same(fs.readdirSync(node.paths.cdi), ['sriov-dp-openshift.io-net-pci-sriov-dpdk.json'])
  const file = path.join(node.paths.cdi, 'sriov-dp-openshift.io-net-pci-sriov-dpdk.json')
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'))
  t.same(validateCdiSpec(file), [], 'valid against the CDI spec schema')
  t.equal(spec.kind, 'openshift.io/net-pci')
  t.same(spec.devices.map((x: any) => x.name), DPDK_VFS)
  t.same(spec.devices[0].containerEdits.deviceNodes, [
    { path: '/dev/vfio/vfio', hostPath: '/dev/vfio/vfio', permissions: 'rw' },
    { path: '/dev/vfio/71', hostPath: '/dev/vfio/71', permissions: 'rw' },
    { path: '/dev/vhost-net', hostPath: '/dev/vhost-net', permissions: 'rw' },
    { path: '/dev/net/tun', hostPath: '/dev/net/tun', permissions: 'rw' },
  ])

  const d = await node.kubelet.call(DPDK, 'Allocate', { container_requests: [{ devices_ids: ['0000:01:11.5', '0000:01:11.7'] }] })
  const r = d.container_responses[0]
  t.same(r.cdi_devices, [{ name: 'openshift.io/net-pci=0000:01:11.5' }, { name: 'openshift.io/net-pci=0000:01:11.7' }], 'cdi_devices (v1beta1 field 5)')
  t.same(r.devices, [], 'no DeviceSpecs: the runtime injects the CDI devices')
  t.same(r.annotations, { 'cdi.k8s.io/openshift.io_sriov-dpdk': 'openshift.io/net-pci=0000:01:11.5,openshift.io/net-pci=0000:01:11.7' }, 'and the annotation older kubelets pass on')
  t.equal(r.envs['PCIDEVICE_OPENSHIFT_IO_SRIOV-DPDK'], '0000:01:11.5,0000:01:11.7')
  const n = await node.kubelet.call(NETDEVICE, 'Allocate', { container_requests: [{ devices_ids: ['0000:01:10.3'] }] })
  t.same([n.container_responses[0].cdi_devices, n.container_responses[0].devices], [[], []], 'a netdevice VF: nothing to inject')
  t.equal(n.container_responses[0].envs.PCIDEVICE_OPENSHIFT_IO_INTEL_SRIOV_NETDEVICE, '0000:01:10.3')

  dp.child.kill('SIGTERM')
  t.equal(await dp.exited(), 0)
  t.same(fs.readdirSync(node.paths.cdi), [], 'spec files removed on exit, as the Go plugin does')
})

t.test('the operator updates the ConfigMap: the new policy applies, the read-only root notwithstanding', async (t) => {
  const node = await operatorNode(t)
  const dp = node.container('sriov-device-plugin.yaml', 'sriov-device-plugin')
  await listOf(node, dp, NETDEVICE, 6)
  const data = { ...node.configMapData, [NODE_NAME]: node.configMapData[NODE_NAME].replace('eno2#0-5', 'eno2#0-3') }
  node.updateConfigMap(data)
  const four = await listOf(node, dp, NETDEVICE, 4)
  t.same(four.map((d) => d.ID), NETDEVICE_VFS.slice(0, 4))
})

t.test('a node without policies ("resourceList": null) serves nothing and keeps running', async (t) => {
  const node = await operatorNode(t)
  const o = node.container('sriov-device-plugin.yaml', 'sriov-device-plugin', {}, 'worker-2')
  await node.kubelet.waitFor(() => logs(o.stderr).some((l) => l.msg === 'sriovdp started'), 'sriovdp started', 20000).catch((e) => t.fail(`${e.message}\n${o.stderr}`))
  t.same(logs(o.stderr).find((l) => l.msg === 'sriovdp started')?.resources, [])
  t.equal(o.child.exitCode, null, 'still running, waiting for a policy')
})

t.test('the Go image\'s other arguments: -h, --log-dir (needs a volume under a read-only root), unknown ones', async (t) => {
  const node = await operatorNode(t)
  const help = runContainer(t, { image: 'sriov-device-plugin', readOnlyRoot: true, args: ['-h'] })
  t.equal(await help.exited(), 0)
  t.match(help.stdout, /--log-dir=[\s\S]*--log-level=10[\s\S]*--resource-prefix=[\s\S]*--config-file=[\s\S]*--use-cdi/)
  const bad = runContainer(t, { image: 'sriov-device-plugin', readOnlyRoot: true, args: ['--log-level=10', '--http-addr=:1'] })
  t.equal(await bad.exited(), 1)
  t.match(bad.stderr, /unknown parameter "--http-addr"/)
  const ro = runContainer(t, { image: 'sriov-device-plugin', readOnlyRoot: true, args: ['--log-dir=sriovdp'] })
  t.equal(await ro.exited(), 1)
  t.match(ro.stderr, /cannot create \/var\/log\/sriovdp/)
  // with a volume at /var/log: glog's --log_dir, the log in the file and on stderr
  const logDir = path.join(node.dir, 'log')
  fs.mkdirSync(logDir)
  const dp = runContainer(t, {
    image: 'sriov-device-plugin', readOnlyRoot: true, env: { SRIOV_SYSFS_ROOT: SEAMS.sysfs },
    binds: [{ source: logDir, target: '/var/log' }, { source: node.sysfs, target: SEAMS.sysfs, readOnly: true }, { source: node.paths.configMap, target: '/etc/pcidp', readOnly: true }, { source: node.paths.devicePlugins, target: '/var/lib/kubelet/device-plugins' }],
    args: ['--log-dir=sriovdp', '--log-level=2', `--config-file=/etc/pcidp/${NODE_NAME}`, '--resource-prefix=openshift.io'],
  })
  await node.kubelet.waitFor(() => /sriovdp started/.test(dp.stderr), 'started', 20000).catch((e) => t.fail(`${e.message}\n${dp.stderr}`))
  const file = fs.readFileSync(path.join(logDir, 'sriovdp', 'sriovdp.log'), 'utf8')
  t.match(file, /"msg":"sriovdp started"/, 'logged to /var/log/sriovdp/sriovdp.log')
  t.notMatch(dp.stderr, /"level":20/, '--log-level=2: info and above')
})
