// The CNI plugin as sriov-network-operator installs and uses it: the config daemon's sriov-cni init container
// exactly as rendered (args ["--no-sleep"]) installs it into the node's CNI directory, and each
// NetworkAttachmentDefinition the operator renders goes through ADD and DEL with the VF the device plugin
// (its own rendered container, read-only root) allocated, as Multus passes it.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { parseAllDocuments } from 'yaml'
import { runContainer } from '../helpers/container'
import { addNetns, addrs, ip, linkJson } from '../helpers/netns'
import { NETDEVICE, OPERATOR_FIXTURES, operatorNode, SEAMS, type OperatorNode } from '../helpers/operator-node'
import { ROOT } from '../helpers/plugin-exec'

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex')
const SRIOV = path.join(ROOT, 'dist', 'bin', 'sriov')
const NADS: Record<string, string> = Object.fromEntries(
  parseAllDocuments(fs.readFileSync(path.join(OPERATOR_FIXTURES, 'nads.yaml'), 'utf8')).map((d) => d.toJS()).map((n) => [n.metadata.name, n.spec.config]),
)

/**
 * The node runs the installed plugin as its runtime does: /opt/cni/bin/sriov, state under /var/lib/cni.
 * `readOnlyRoot`: as our device plugin's reconciler runs it, in its container (only /var/lib/cni writable).
 */
async function cni(t: Test, node: OperatorNode, command: string, conf: object, containerId: string, netns: string, readOnlyRoot = false) {
  const c = runContainer(t, {
    readOnlyRoot,
    binds: [
      { source: node.paths.cniBin, target: '/opt/cni/bin', readOnly: true },
      { source: node.paths.cniState, target: '/var/lib/cni' },
      { source: '/run/netns', target: '/var/run/netns' },
      { source: node.paths.tmp, target: '/tmp' },
      { source: node.sysfs, target: SEAMS.sysfs, readOnly: true },
      { source: node.paths.vfConfig, target: SEAMS.vfConfig },
    ],
    env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: 'net1', CNI_PATH: '/opt/cni/bin', CNI_ARGS: '', SRIOV_SYSFS_ROOT: SEAMS.sysfs, SRIOV_VF_CONFIG: `record:${SEAMS.vfConfig}` },
    command: ['/opt/cni/bin/sriov'],
  }, JSON.stringify(conf))
  const code = await c.exited()
  return { code, stdout: c.stdout, stderr: c.stderr, json: c.stdout.trim() ? JSON.parse(c.stdout) : undefined }
}

// VF 0's configuration on the PF, what the record does not hold being the driver's defaults
const VF_DEFAULTS = { mac: '00:00:00:00:00:00', vlan: 0, qos: 0, proto: '802.1q', spoofchk: true, trust: false, link_state: 'auto', min_tx_rate: 0, max_tx_rate: 0 }
const vfConfig = (node: OperatorNode) => {
  const f = path.join(node.paths.vfConfig, 'eno2.json')
  return { ...VF_DEFAULTS, ...(fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8'))['0'] : {}) }
}

t.test('the config daemon\'s sriov-cni init container installs the plugin: as rendered, and under a read-only root', async (t) => {
  const node = await operatorNode(t)
  const init = node.container('sriov-network-config-daemon.yaml', 'sriov-cni')
  t.equal(await init.exited(), 0, `--no-sleep: installed, then exits (${init.stderr})`)
  t.match(init.stdout, /installed \/host\/opt\/cni\/bin\/sriov \(sha256 [0-9a-f]{64}\)/)
  t.equal(sha(path.join(node.paths.cniBin, 'sriov')), sha(SRIOV), 'the image\'s /usr/bin/sriov, byte for byte')
  t.same(fs.readdirSync(node.paths.cniBin), ['sriov'])
  const again = node.container('sriov-network-config-daemon.yaml', 'sriov-cni', { readOnlyRoot: true })
  t.equal(await again.exited(), 0, `the next pod (read-only root) replaces it atomically (${again.stderr})`)
  t.same(fs.readdirSync(node.paths.cniBin), ['sriov'])
})

t.test('a pod on each rendered network: the device plugin\'s VF, ADD and DEL of the NAD as the operator wrote it', async (t) => {
  const node = await operatorNode(t, { veths: 1 })
  const vf = node.veths[0]
  t.equal(await node.container('sriov-network-config-daemon.yaml', 'sriov-cni').exited(), 0)
  const dp = node.container('sriov-device-plugin.yaml', 'sriov-device-plugin')
  await node.kubelet.waitForList(NETDEVICE, (l) => l.length === 6, 20000).catch((e: Error) => {
    throw new Error(`${e.message}\n${dp.stderr}`)
  })
  const a = await node.kubelet.call(NETDEVICE, 'Allocate', { container_requests: [{ devices_ids: ['0000:01:10.1'] }] })
  const deviceID = a.container_responses[0].envs.PCIDEVICE_OPENSHIFT_IO_INTEL_SRIOV_NETDEVICE
  t.equal(deviceID, '0000:01:10.1')
  // Multus: the NAD's config with the allocated VF as deviceID
  const conf = (name: string) => ({ ...JSON.parse(NADS[name]), deviceID })
  const before = vfConfig(node)

  /** A pod on `nad`: ADD, `check` what it did, DEL, and the VF is back on the node as it was. */
  const attach = async (t: Test, nad: string, check: (add: any, pod: { name: string; path: string }) => void, readOnlyRoot = false) => {
    const pod = addNetns(t, 'top')
    const add = await cni(t, node, 'ADD', conf(nad), `pod-${nad}`, pod.path, readOnlyRoot)
    t.equal(add.code, 0, `ADD ${add.stdout}${add.stderr}`)
    check(add, pod)
    const del = await cni(t, node, 'DEL', conf(nad), `pod-${nad}`, pod.path, readOnlyRoot)
    t.equal(del.code, 0, `DEL ${del.stdout}${del.stderr}`)
    t.ok(linkJson(vf.name), 'VF netdev back on the node')
    t.same(vfConfig(node), before, 'VF config restored')
  }
  const lease = path.join(node.paths.cniState, 'networks', 'sriov-201', '192.168.201.2')

  await t.test('sriov-201: VLAN 201, host-local', (t) => attach(t, 'sriov-201', (add, pod) => {
    t.same(add.json.ips, [{ interface: 0, address: '192.168.201.2/24', gateway: '192.168.201.1' }])
    t.match(add.json.interfaces, [{ name: 'net1', mac: vf.mac, sandbox: pod.path, pciID: deviceID }])
    t.same(addrs('net1', pod.name), ['192.168.201.2/24'])
    t.match(vfConfig(node), { vlan: 201, qos: 0, proto: '802.1q' })
    t.ok(fs.existsSync(lease), 'lease in the node\'s /var/lib/cni/networks')
  }).then(() => t.notOk(fs.existsSync(lease), 'lease released')))

  await t.test('sriov-noipam: "ipam": {} is no IPAM', (t) => attach(t, 'sriov-noipam', (add, pod) => {
    t.same(add.json.ips ?? [], [])
    t.ok(linkJson('net1', pod.name), 'net1 in the pod')
    t.match(vfConfig(node), { vlan: 0, qos: 0 })
  }))

  await t.test('sriov-qinq: 802.1ad with QoS, spoof check, trust, link state, legacy host-local, debug log to a file', (t) => attach(t, 'sriov-qinq', (add, pod) => {
    t.same(vfConfig(node), { ...VF_DEFAULTS, vlan: 100, qos: 5, proto: '802.1ad', spoofchk: true, trust: false, link_state: 'enable' })
    t.same(add.json.ips, [{ interface: 0, address: '10.56.217.171/24', gateway: '10.56.217.1' }])
    t.match(ip('-n', pod.name, 'route', 'show', 'default'), /default via 10\.56\.217\.1 dev net1/)
    const log = fs.readFileSync(path.join(node.paths.tmp, 'sriov-qinq.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    t.ok(log.some((l) => l.level === 20), 'logLevel debug: debug lines, in the logFile')
  }))

  await t.test('sriov-relative-log: a relative logFile logs to stderr, with a warning, and the call works', (t) => attach(t, 'sriov-relative-log', (add) => {
    t.match(add.stderr, /logFile \\"sriov\.log\\" is not an absolute path: logging to stderr/)
    t.match(vfConfig(node), { vlan: 202 })
  }))

  await t.test('the plugin under a read-only root with /var/lib/cni writable (our reconciler\'s DEL runs so)', (t) => attach(t, 'sriov-noipam', (_add, pod) => {
    t.ok(linkJson('net1', pod.name), 'net1 in the pod')
    t.ok(fs.readdirSync(path.join(node.paths.cniState, 'sriov', '.addons')).some((f) => f.endsWith('-koffi.node')), 'its addon extracted under /var/lib/cni/sriov/.addons')
  }, true))

  await t.test('sriov-qos-novlan: vlanQoS 3 on VLAN 0 is refused before anything changes', async (t) => {
    const pod = addNetns(t, 'top')
    const add = await cni(t, node, 'ADD', conf('sriov-qos-novlan'), 'podqos', pod.path)
    t.not(add.code, 0)
    t.match(add.json, { code: 7, msg: /vlanQoS.*non-zero vlan/ })
    t.ok(linkJson(vf.name), 'the VF stays on the node')
    t.same(vfConfig(node), before)
  })
  dp.child.kill('SIGTERM')
  t.equal(await dp.exited(), 0)
})
