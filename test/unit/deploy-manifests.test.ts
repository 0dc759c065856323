// Every manifest in deploy/ is a valid object of its kind and references only what the project has.
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { parseSriovConfig } from '../../cni/config'
import { parseConfig } from '../../deviceplugin/config'
import { parseNetConf } from '../../protocol/netconf'

const ROOT = path.resolve(__dirname, '..', '..')
const files = ['deploy', 'deploy/examples'].flatMap((d) => fs.readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith('.yaml')).map((f) => path.join(d, f)))
const docs = files.flatMap((f) =>
  parseAllDocuments(fs.readFileSync(path.join(ROOT, f), 'utf8')).map((d, i) => {
    if (d.errors.length) throw new Error(`${f} document ${i}: ${d.errors[0].message}`)
    return { file: f, obj: d.toJS() as any }
  }),
)
const IMAGE = /^FROM .* AS build[\s\S]*^FROM /m.test(fs.readFileSync(path.join(ROOT, 'deploy/Containerfile'), 'utf8')) ? 'sriov-ts:latest' : ''
const KNOWN_HOST_PATHS = ['/var/lib/kubelet/device-plugins', '/var/lib/kubelet/plugins_registry', '/var/run/k8s.cni.cncf.io/devinfo/dp', '/var/lib/cni', '/opt/cni/bin', '/var/log', '/var/run/netns']
const configMaps = new Set(docs.filter((d) => d.obj.kind === 'ConfigMap').map((d) => d.obj.metadata.name))

t.test('every document has apiVersion, kind and metadata.name', async (t) => {
  t.ok(files.length >= 7, `${files.length} manifest files`)
  for (const { file, obj } of docs) t.ok(obj.apiVersion && obj.kind && obj.metadata?.name, `${file}: ${obj.kind}/${obj.metadata?.name}`)
})

t.test('DaemonSets: selector matches labels, unique containers, mounts name volumes, images and host paths are ours', async (t) => {
  const daemonSets = docs.filter((d) => d.obj.kind === 'DaemonSet')
  t.equal(daemonSets.length, 2)
  t.equal(IMAGE, 'sriov-ts:latest', 'the Containerfile is multi-stage')
  for (const { file, obj } of daemonSets) {
    t.equal(obj.apiVersion, 'apps/v1', file)
    const spec = obj.spec.template.spec
    t.match(obj.spec.template.metadata.labels, obj.spec.selector.matchLabels, `${file}: selector matches the pod labels`)
    const names = spec.containers.map((c: any) => c.name)
    t.equal(new Set(names).size, names.length, `${file}: container names unique`)
    const volumes = new Map(spec.volumes.map((v: any) => [v.name, v]))
    for (const c of spec.containers) {
      t.equal(c.image, IMAGE, `${file}: ${c.name} uses the project's image`)
      for (const m of c.volumeMounts ?? []) t.ok(volumes.has(m.name), `${file}: mount ${m.name} has a volume`)
    }
    for (const v of spec.volumes) {
      if (v.hostPath) t.ok(KNOWN_HOST_PATHS.includes(v.hostPath.path), `${file}: hostPath ${v.hostPath.path} is one the programs use`)
      if (v.configMap) t.ok(configMaps.has(v.configMap.name), `${file}: ConfigMap ${v.configMap.name} is defined in deploy/`)
    }
    if (obj.metadata.name === 'kube-sriov-device-plugin') {
      t.ok(spec.hostNetwork, 'device plugin runs in the host network')
      t.ok(spec.containers[0].securityContext.privileged)
      t.equal(spec.containers[0].livenessProbe.httpGet.path, '/healthz')
      t.ok(spec.serviceAccountName && docs.some((d) => d.obj.kind === 'ServiceAccount' && d.obj.metadata.name === spec.serviceAccountName), 'its ServiceAccount is defined')
      t.ok(spec.containers[0].args.includes('--http-addr=:9808') && spec.containers[0].ports[0].containerPort === 9808, 'probes and metrics on the plugin port')
    }
  }
})

t.test('ConfigMaps hold device plugin configs that parse; NADs hold sriov configs that parse', async (t) => {
  for (const { file, obj } of docs.filter((d) => d.obj.kind === 'ConfigMap')) {
    const resources = parseConfig(obj.data['config.json'], 'intel.com')
    t.ok(resources.length > 0, `${file}: ${resources.map((r) => r.resourceName).join(', ')}`)
  }
  const nads = docs.filter((d) => d.obj.kind === 'NetworkAttachmentDefinition')
  t.equal(nads.length, 2)
  for (const { file, obj } of nads) {
    const conf = JSON.parse(obj.spec.config)
    conf.deviceID = '0000:01:10.1' // what Multus adds from the device plugin's allocation
    const parsed = parseSriovConfig(parseNetConf(JSON.stringify(conf)), { args: {} })
    t.equal(parsed.netConf.name, obj.metadata.name, `${file}: network name matches the NAD`)
    t.match(obj.metadata.annotations['k8s.v1.cni.cncf.io/resourceName'], /^intel\.com\//)
  }
  const pod = docs.find((d) => d.obj.kind === 'Pod')!.obj
  t.ok(nads.some((n) => n.obj.metadata.name === pod.metadata.annotations['k8s.v1.cni.cncf.io/networks']), 'the pod names a defined NAD')
  t.equal(pod.spec.containers[0].resources.limits['intel.com/intel_sriov_netdevice'], '1')
})
