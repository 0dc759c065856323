// Every manifest in deploy/ parses, is a valid object of its kind and references only what the project has:
// the image built by deploy/Containerfile, ConfigMaps defined in deploy/, host paths the programs use. The
// device plugin configs parse with sriovdp's own parser and the NAD configs with the sriov plugin's.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { seamsFrom } from '../../host/seams'
import { parseAllDocuments } from 'yaml'
import { parseSriovConfig } from '../../cni/config'
import { parseOptions } from '../../deviceplugin/cli'
import { ConfigError, parseConfig } from '../../deviceplugin/config'
import { parseNetConf } from '../../protocol/netconf'
import { imageLayout } from '../helpers/container'

const ROOT = path.resolve(__dirname, '..', '..')
const DEPLOY = path.join(ROOT, 'deploy')
// the Containerfile target each DaemonSet's image is built from
const IMAGES: Record<string, string> = { 'kube-sriov-device-plugin': 'sriov-ts/sriov-device-plugin:latest', 'kube-sriov-cni-ds': 'sriov-ts/sriov-cni:latest' }

interface Doc {
  file: string
  obj: any
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name)
    if (e.isDirectory()) return yamlFiles(rel)
    return /\.ya?ml$/.test(e.name) ? [rel] : []
  })
}

const files = yamlFiles('deploy').sort()
const docs: Doc[] = []
const parseErrors: string[] = []
for (const file of files) {
  parseAllDocuments(fs.readFileSync(path.join(ROOT, file), 'utf8')).forEach((d, i) => {
    if (d.errors.length) parseErrors.push(`${file} document ${i}: ${d.errors.map((e) => e.message).join('; ')}`)
    else if (d.contents !== null) docs.push({ file, obj: d.toJS() })
  })
}
const ofKind = (kind: string) => docs.filter((d) => d.obj?.kind === kind)
const named = (kind: string, name: string) => ofKind(kind).find((d) => d.obj.metadata.name === name)

// host paths and where each program expects them (deviceplugin/cli.ts defaults, SRIOV_* env defaults)
const DP_HOST_PATHS: Record<string, string> = {
  '/var/lib/kubelet/device-plugins': '/var/lib/kubelet/device-plugins',
  '/var/lib/kubelet/plugins_registry': '/var/lib/kubelet/plugins_registry',
  '/var/run/k8s.cni.cncf.io/devinfo/dp': '/var/run/k8s.cni.cncf.io/devinfo/dp',
  '/var/lib/cni': '/var/lib/cni',
  '/sys': '/sys',
  '/opt/cni/bin': '/opt/cni/bin', // --cni-bin-dir: the reconciler runs the installed plugin's DEL
  '/var/run/netns': '/var/run/netns', // the reconciler checks the pods' namespaces
}
const CNI_HOST_PATHS: Record<string, string> = { '/opt/cni/bin': '/host/opt/cni/bin' }

const HTTP_PORT = parseOptions([], seamsFrom({})).httpAddr!.port

// ports that node agents commonly hold on the host network (their defaults)
const NODE_AGENT_PORTS: Record<number, string> = {
  9100: 'node-exporter', 9808: 'CSI livenessprobe', 10248: 'kubelet healthz', 10249: 'kube-proxy metrics', 10250: 'kubelet',
  10255: 'kubelet read-only', 10256: 'kube-proxy healthz', 10257: 'kube-controller-manager', 10259: 'kube-scheduler',
  9091: 'calico felix metrics', 9099: 'calico felix health', 9962: 'cilium agent metrics', 9963: 'cilium operator metrics',
  9964: 'cilium envoy metrics', 9876: 'cilium agent health', 9879: 'cilium agent health', 9890: 'cilium operator health',
  2379: 'etcd', 2381: 'etcd metrics', 9153: 'CoreDNS metrics', 7472: 'MetalLB metrics', 9253: 'node-local-dns',
  10349: 'antrea', 10350: 'antrea agent', 10351: 'antrea', 10254: 'ingress-nginx', 61678: 'AWS VPC CNI metrics',
}

t.test("sriovdp's default HTTP port is no common node agent's and is outside the NodePort range", async (t) => {
  t.equal(HTTP_PORT, 10298)
  t.notOk(NODE_AGENT_PORTS[HTTP_PORT], `${HTTP_PORT} is not ${NODE_AGENT_PORTS[HTTP_PORT]}'s`)
  t.notOk(HTTP_PORT >= 9100 && HTTP_PORT <= 9999, "outside Prometheus' exporter range, fully allocated")
  t.notOk(HTTP_PORT >= 30000 && HTTP_PORT <= 32767, 'outside the NodePort range')
})

t.test('every manifest parses; every object has apiVersion, kind and metadata.name', async (t) => {
  t.same(parseErrors, [], 'no YAML errors')
  for (const f of ['deploy/configmap.yaml', 'deploy/sriovdp-daemonset.yaml', 'deploy/sriov-cni-daemonset.yaml']) t.ok(files.includes(f), `${f} exists`)
  t.ok(files.filter((f) => f.startsWith('deploy/examples/')).length >= 5, 'examples: two configs, two NADs, a pod')
  for (const { file, obj } of docs) {
    t.type(obj, 'object', `${file}: a mapping`)
    t.ok(typeof obj.apiVersion === 'string' && obj.apiVersion, `${file}: apiVersion`)
    t.ok(typeof obj.kind === 'string' && obj.kind, `${file}: kind`)
    t.match(obj.metadata?.name, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, `${file}: ${obj.kind} metadata.name is a DNS name`)
  }
  const expected: Record<string, string> = { ServiceAccount: 'v1', ConfigMap: 'v1', Pod: 'v1', DaemonSet: 'apps/v1', NetworkAttachmentDefinition: 'k8s.cni.cncf.io/v1' }
  for (const { file, obj } of docs) t.equal(obj.apiVersion, expected[obj.kind], `${file}: ${obj.kind} has apiVersion ${expected[obj.kind]}`)
})

t.test('the Containerfile builds the two images the manifests name, each with its entrypoint', async (t) => {
  const cf = fs.readFileSync(path.join(DEPLOY, 'Containerfile'), 'utf8')
  const froms = [...cf.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({ image: m[1], stage: m[2] }))
  t.same(froms, [
    { image: 'node:20-bookworm', stage: 'build' },
    { image: 'debian:bookworm-slim', stage: 'base' },
    { image: 'base', stage: 'sriov-cni' },
    { image: 'base', stage: 'sriov-device-plugin' },
  ], 'a node build, a Debian slim base with the addons, one target per Go image')
  t.match(cf, /npm ci[\s\S]*npm run build/, 'the build stage runs npm ci and npm run build')
  const cni = imageLayout('sriov-cni', cf)
  const dp = imageLayout('sriov-device-plugin', cf)
  const dests = (l: ReturnType<typeof imageLayout>) => l.files.map((f) => f.dest).sort()
  t.same(dests(cni), ['/entrypoint.sh', '/usr/bin/sriov', '/usr/lib/sriov-ts/'])
  t.same(dests(dp), ['/entrypoint.sh', '/usr/bin/sriovdp', '/usr/lib/sriov-ts/'])
  t.same([cni.entrypoint, dp.entrypoint], [['/entrypoint.sh'], ['/entrypoint.sh']], 'at the Go images\' path')
  t.match(cni.files.find((f) => f.dest === '/entrypoint.sh'), { source: path.join(DEPLOY, 'cni-entrypoint.sh'), mode: 0o755 })
  t.match(dp.files.find((f) => f.dest === '/entrypoint.sh'), { source: path.join(DEPLOY, 'sriovdp-entrypoint.sh'), mode: 0o755 })
  for (const f of ['cni-entrypoint.sh', 'sriovdp-entrypoint.sh']) t.ok(fs.statSync(path.join(DEPLOY, f)).mode & 0o111, `${f} is executable`)
  for (const target of ['sriov-cni', 'sriov-device-plugin']) t.match(cf, new RegExp(`--target ${target} -t \\S+/${target}:`), `the build command for ${target} is in the file`)
})

t.test('DaemonSets: valid pod templates, mounts name volumes, our image, ConfigMaps and host paths', async (t) => {
  const daemonSets = ofKind('DaemonSet')
  t.same(daemonSets.map((d) => d.obj.metadata.name).sort(), ['kube-sriov-cni-ds', 'kube-sriov-device-plugin'])
  const configMaps = new Set(ofKind('ConfigMap').filter((d) => !d.file.includes('/examples/')).map((d) => d.obj.metadata.name))
  for (const { file, obj } of daemonSets) {
    t.equal(obj.metadata.namespace, 'kube-system', `${file}: in kube-system`)
    t.ok(obj.spec?.selector?.matchLabels, `${file}: has a selector`)
    t.match(obj.spec.template.metadata.labels, obj.spec.selector.matchLabels, `${file}: selector matches the pod labels`)
    const spec = obj.spec.template.spec
    t.ok(Array.isArray(spec.containers) && spec.containers.length > 0, `${file}: has containers`)
    const all = [...(spec.initContainers ?? []), ...spec.containers]
    const names = all.map((c: any) => c.name)
    t.equal(new Set(names).size, names.length, `${file}: container names unique (${names.join(', ')})`)
    const volumeNames = spec.volumes.map((v: any) => v.name)
    t.equal(new Set(volumeNames).size, volumeNames.length, `${file}: volume names unique`)
    const volumes = new Map<string, any>(spec.volumes.map((v: any) => [v.name, v]))
    const used = new Set<string>()
    for (const c of all) {
      t.match(c.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${file}: container name ${c.name}`)
      t.equal(c.image, IMAGES[obj.metadata.name], `${file}: ${c.name} uses ${IMAGES[obj.metadata.name]}`)
      const paths = (c.volumeMounts ?? []).map((m: any) => m.mountPath)
      t.equal(new Set(paths).size, paths.length, `${file}: ${c.name} mount paths unique`)
      for (const m of c.volumeMounts ?? []) {
        t.ok(volumes.has(m.name), `${file}: ${c.name} mount ${m.name} names a defined volume`)
        used.add(m.name)
      }
    }
    for (const v of spec.volumes) {
      t.ok(used.has(v.name), `${file}: volume ${v.name} is mounted`)
      if (v.configMap) t.ok(configMaps.has(v.configMap.name), `${file}: ConfigMap ${v.configMap.name} is defined in deploy/`)
    }
    // host paths: exactly the ones the program uses, each mounted where the program looks for it
    const expected = obj.metadata.name === 'kube-sriov-device-plugin' ? DP_HOST_PATHS : CNI_HOST_PATHS
    const hostMounts: Record<string, string> = {}
    for (const v of spec.volumes.filter((v: any) => v.hostPath)) {
      const mount = all.flatMap((c: any) => c.volumeMounts ?? []).find((m: any) => m.name === v.name)
      hostMounts[v.hostPath.path] = mount?.mountPath
    }
    t.same(hostMounts, expected, `${file}: host paths and their mount points`)
  }

  const dp = named('DaemonSet', 'kube-sriov-device-plugin')!.obj
  const spec = dp.spec.template.spec
  const c = spec.containers[0]
  t.equal(spec.hostNetwork, true, 'device plugin: host network')
  t.equal(c.securityContext.privileged, true, 'device plugin: privileged')
  t.ok(named('ServiceAccount', spec.serviceAccountName), `its ServiceAccount ${spec.serviceAccountName} is defined`)
  t.equal(named('ServiceAccount', spec.serviceAccountName)!.obj.metadata.namespace, 'kube-system')
  t.same(c.args, ['--config-file=/etc/pcidp/config.json', '--resource-prefix=intel.com', '--log-level=2'], 'the Go image\'s arguments')
  t.equal(c.securityContext.readOnlyRootFilesystem, true, 'read-only root: the addons load from the image')
  for (const probe of [c.livenessProbe, c.readinessProbe]) t.match(probe, { httpGet: { path: '/healthz', port: HTTP_PORT } })
  t.match(c.ports, [{ name: 'metrics', containerPort: HTTP_PORT, hostPort: HTTP_PORT, protocol: 'TCP' }])
  t.match(c.resources, { requests: { cpu: '250m' }, limits: { cpu: '1', memory: '200Mi' } })
  t.ok(c.resources.requests.memory, 'memory request set')
  const mount = (name: string) => c.volumeMounts.find((m: any) => m.name === name)
  t.equal(mount('sys').readOnly, true, '/sys is read-only')
  const cfg = spec.volumes.find((v: any) => v.configMap)
  t.equal(cfg.configMap.name, 'sriovdp-config')
  t.equal(mount(cfg.name).mountPath, '/etc/pcidp', 'the ConfigMap at /etc/pcidp')
  t.ok(cfg.configMap.items.some((i: any) => i.key === 'config.json' && i.path === 'config.json'), 'as /etc/pcidp/config.json')
  const envs = Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value]))
  t.equal(envs.SRIOV_DEVINFO_DIR ?? '/var/run/k8s.cni.cncf.io/devinfo/dp', mount('device-info').mountPath, 'device-info files land in the mounted dir')
  t.ok((envs.SRIOV_STATE_DIR ?? '/var/lib/cni/sriov').startsWith(mount('cni-state').mountPath + '/'), 'state under the mounted /var/lib/cni')

  const cni = named('DaemonSet', 'kube-sriov-cni-ds')!.obj.spec.template.spec.containers[0]
  t.same(cni.args, ['--cni-bin-dir=/host/opt/cni/bin'], 'the CNI container installs into the host mount, then idles (no --no-sleep)')
  t.notOk(cni.securityContext?.privileged, 'the installer is not privileged')
})

t.test('ConfigMaps hold device plugin configs that parse', async (t) => {
  const cms = ofKind('ConfigMap')
  t.ok(cms.length >= 3)
  for (const { file, obj } of cms) {
    t.equal(obj.metadata.name, 'sriovdp-config', `${file}: the name the DaemonSet mounts`)
    t.same(Object.keys(obj.data), ['config.json'], `${file}: one key, config.json`)
    let resources: ReturnType<typeof parseConfig> = []
    t.doesNotThrow(() => (resources = parseConfig(obj.data['config.json'], 'intel.com')), `${file}: parses`)
    t.ok(resources.length > 0, `${file}: ${resources.map((r) => `${r.resourcePrefix}/${r.resourceName}`).join(', ')}`)
  }
  const configOf = (file: string): string => cms.find((d) => d.file === file)!.obj.data['config.json']
  const seed = parseConfig(configOf('deploy/configmap.yaml'), 'intel.com')
  t.match(seed, [{ resourceName: 'intel_sriov_netdevice', resourcePrefix: 'intel.com', deviceType: 'netDevice', selectors: [{ vendors: ['8086'], devices: ['1515'], drivers: ['ixgbevf'] }] }], 'deploy/configmap.yaml: the X540 config')
  t.equal(seed.length, 1)
  const rootDevices = parseConfig(configOf('deploy/examples/configmap-rootdevices.yaml'), 'intel.com')
  t.ok(rootDevices.every((r) => r.selectors[0].rootDevices?.length), 'the 2019 example selects by rootDevices')
  t.ok(rootDevices.every((r) => r.selectors[0].rootDevices!.every((a) => a.written.startsWith('0000:02:00.'))), 'its short PCI addresses read with domain 0000')
  t.notOk(/"selectors"/.test(configOf('deploy/examples/configmap-rootdevices.yaml')), 'in the 2019 form (no selectors object)')
  const dpdk = parseConfig(configOf('deploy/examples/configmap-dpdk.yaml'), 'intel.com')
  t.ok(dpdk.some((r) => r.resourceName === 'intel_sriov_dpdk' && r.selectors[0].drivers?.includes('vfio-pci')), 'the DPDK example offers vfio-pci VFs')
  // the test would notice a config sriovdp rejects
  let err: unknown
  try {
    parseConfig('{"resourceList":[{"resourceName":"bad name"}]}', 'intel.com')
  } catch (e) {
    err = e
  }
  t.ok(err instanceof ConfigError, 'a config sriovdp rejects throws ConfigError')
})

t.test('NADs hold sriov configs that parse; resources and networks they name exist', async (t) => {
  const nads = ofKind('NetworkAttachmentDefinition')
  t.same(nads.map((n) => n.obj.metadata.name).sort(), ['sriov-201', 'sriov-dpdk-100'])
  const offered = new Set(ofKind('ConfigMap').flatMap((d) => parseConfig(d.obj.data['config.json'], 'intel.com').map((r) => `${r.resourcePrefix}/${r.resourceName}`)))
  for (const { file, obj } of nads) {
    const conf = JSON.parse(obj.spec.config)
    conf.deviceID = '0000:01:10.1' // what Multus adds from the device plugin's allocation
    const parsed = parseSriovConfig(parseNetConf(JSON.stringify(conf)), { args: {} })
    t.equal(parsed.netConf.type, 'sriov', `${file}: type sriov`)
    t.equal(parsed.netConf.name, obj.metadata.name, `${file}: network name matches the NAD`)
    const res = obj.metadata.annotations['k8s.v1.cni.cncf.io/resourceName']
    t.ok(offered.has(res), `${file}: ${res} is offered by a ConfigMap in deploy/`)
  }
  const vlan201 = parseSriovConfig(parseNetConf(JSON.stringify({ ...JSON.parse(named('NetworkAttachmentDefinition', 'sriov-201')!.obj.spec.config), deviceID: '0000:01:10.1' })), { args: {} })
  t.match(vlan201, { vlan: 201, netConf: { cniVersion: '0.3.1', ipam: { type: 'host-local' } } })
  t.same(JSON.parse(named('NetworkAttachmentDefinition', 'sriov-201')!.obj.spec.config).ipam, { type: 'host-local', ranges: [[{ subnet: '192.168.201.0/24' }]] })
  t.equal(named('NetworkAttachmentDefinition', 'sriov-201')!.obj.metadata.annotations['k8s.v1.cni.cncf.io/resourceName'], 'intel.com/intel_sriov_netdevice')
  // without deviceID the plugin refuses the config: the test adds it as Multus does, it is not in the NAD
  t.throws(() => parseSriovConfig(parseNetConf(named('NetworkAttachmentDefinition', 'sriov-201')!.obj.spec.config), { args: {} }), /deviceID/)

  const pods = ofKind('Pod')
  t.equal(pods.length, 1)
  const pod = pods[0].obj
  const nets = pod.metadata.annotations['k8s.v1.cni.cncf.io/networks'].split(',').map((s: string) => s.trim())
  t.same(nets, ['sriov-201'])
  for (const n of nets) t.ok(named('NetworkAttachmentDefinition', n), `the pod's network ${n} is defined`)
  const c = pod.spec.containers[0]
  t.equal(c.resources.requests['intel.com/intel_sriov_netdevice'], '1')
  t.equal(c.resources.limits['intel.com/intel_sriov_netdevice'], '1', 'extended resources need limit = request')
  t.equal(named('NetworkAttachmentDefinition', nets[0])!.obj.metadata.annotations['k8s.v1.cni.cncf.io/resourceName'], 'intel.com/intel_sriov_netdevice', 'the NAD needs the resource the pod requests')
})
