// A node as sriov-network-operator sets it up, for the operator tier: the seeds' X540 (PF eno2, 8 VFs
// 8086:1515, the first `veths` with real veth netdevs, VF 1 RDMA-capable, VFs 6 and 7 bound to vfio-pci) in a
// fake sysfs, temporary directories standing in for the node's paths, its device-plugin-config ConfigMap
// volume, and a kubelet stand-in in plugin-watcher mode. The operator's containers run from test/fixtures/operator.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseAllDocuments } from 'yaml'
import { writeConfigMapVolume } from './config-map-volume'
import { runContainer, type Container, type ContainerOptions } from './container'
import { daemonSetContainer, readDaemonSet } from './daemonset-container'
import { buildFakeSysfs, x540 } from './fake-sysfs'
import { KubeletStandIn } from './kubelet'
import { addVeth } from './netns'
import { ROOT } from './plugin-exec'

export const OPERATOR_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'operator')
export const NODE_NAME = 'worker-0'
export const PREFIX = 'openshift.io'
export const NETDEVICE = `${PREFIX}/intel_sriov_netdevice`
export const DPDK = `${PREFIX}/sriov-dpdk`
/** VFs 0-5 (eno2#0-5, VF 1 with an RDMA device) and 6-7 (eno2#6-7, vfio-pci, IOMMU groups 71, 72) of the X540 */
export const NETDEVICE_VFS = ['0000:01:10.1', '0000:01:10.3', '0000:01:10.5', '0000:01:10.7', '0000:01:11.1', '0000:01:11.3']
export const DPDK_VFS = ['0000:01:11.5', '0000:01:11.7']
/** where the containers see the test's seams: the fake sysfs and the VF configuration record (SRIOV_VF_CONFIG) */
export const SEAMS = { sysfs: '/var/lib/sriov-test/sys', vfConfig: '/var/lib/sriov-test/vfconfig' }
// what a node has when the vhost_net and tun modules are loaded (misc majors)
export const VHOST_DEV_NODES = [{ path: 'vhost-net', major: 10, minor: 238 }, { path: 'net/tun', major: 10, minor: 200 }]

const NODE_PATHS = {
  devicePlugins: '/var/lib/kubelet/device-plugins',
  pluginsRegistry: '/var/lib/kubelet/plugins_registry',
  devinfo: '/var/run/k8s.cni.cncf.io/devinfo/dp',
  cdi: '/var/run/cdi',
  cniBin: '/opt/cni/bin',
  osRelease: '/etc/os-release',
}

export interface OperatorNode {
  dir: string
  sysfs: string
  /** the directory standing in for each node path */
  paths: Record<keyof typeof NODE_PATHS, string> & { configMap: string; cniState: string; tmp: string; vfConfig: string }
  kubelet: KubeletStandIn
  /** the real netdevs of VFs 0.. (veths) */
  veths: { name: string; peer: string; mac: string }[]
  /** The ConfigMap's data, as the operator wrote it (device-plugin-config.yaml). */
  configMapData: Record<string, string>
  /** Rewrites the ConfigMap volume, as kubelet does when the operator updates the ConfigMap. */
  updateConfigMap(data: Record<string, string>): void
  /** A container of one of the fixtures' DaemonSets, as kubelet starts it on this node (or on `nodeName`'s). */
  container(manifest: string, name: string, extra?: Partial<ContainerOptions>, nodeName?: string): Container
}

export async function operatorNode(t: { teardown(fn: () => unknown): void }, opts: { veths?: number } = {}): Promise<OperatorNode> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opnode-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const paths = {
    ...(Object.fromEntries(Object.keys(NODE_PATHS).map((k) => [k, path.join(dir, k)])) as Record<keyof typeof NODE_PATHS, string>),
    configMap: path.join(dir, 'configmap'),
    cniState: path.join(dir, 'cni-state'),
    tmp: path.join(dir, 'tmp'),
    vfConfig: path.join(dir, 'vfconfig'),
  }
  for (const [k, p] of Object.entries(paths)) if (k !== 'osRelease') fs.mkdirSync(p, { recursive: true })
  fs.chmodSync(paths.tmp, 0o1777)
  fs.copyFileSync('/etc/os-release', paths.osRelease)
  const veths = Array.from({ length: opts.veths ?? 0 }, () => addVeth(t, 'top'))
  const pf = x540('eno2', (i) => (i < 6 ? (veths[i]?.name ?? `eno2v${i}`) : undefined))
  pf.vfs[1].rdma = true
  Object.assign(pf.vfs[6], { driver: 'vfio-pci', iommuGroup: 71 })
  Object.assign(pf.vfs[7], { driver: 'vfio-pci', iommuGroup: 72 })
  const sysfs = path.join(dir, 'sys')
  buildFakeSysfs(sysfs, [pf])
  const cm = parseAllDocuments(fs.readFileSync(path.join(OPERATOR_FIXTURES, 'device-plugin-config.yaml'), 'utf8'))[0].toJS()
  writeConfigMapVolume(paths.configMap, cm.data)
  const kubelet = new KubeletStandIn(paths.devicePlugins, { nodePaths: { [NODE_PATHS.pluginsRegistry]: paths.pluginsRegistry, [NODE_PATHS.devicePlugins]: paths.devicePlugins } })
  await kubelet.start()
  kubelet.watchRegistry(paths.pluginsRegistry)
  t.teardown(() => kubelet.stop())
  const hostPaths = Object.fromEntries(Object.entries(NODE_PATHS).map(([k, p]) => [p, paths[k as keyof typeof NODE_PATHS]]))
  return {
    dir,
    sysfs,
    paths,
    kubelet,
    veths,
    configMapData: cm.data,
    updateConfigMap: (data) => writeConfigMapVolume(paths.configMap, data),
    container(manifest, name, extra = {}, nodeName = NODE_NAME) {
      const o = daemonSetContainer(readDaemonSet(path.join(OPERATOR_FIXTURES, manifest)), name, { nodeName, hostPaths, configMaps: { 'device-plugin-config': paths.configMap } })
      // the test's seam: the fake sysfs, read-only
      const binds = [...(o.binds ?? []), { source: sysfs, target: SEAMS.sysfs, readOnly: true }, ...(extra.binds ?? [])]
      return runContainer(t, { ...o, ...extra, binds, env: { ...o.env, SRIOV_SYSFS_ROOT: SEAMS.sysfs, ...extra.env } })
    },
  }
}
