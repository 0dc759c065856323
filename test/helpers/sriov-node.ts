// A simulated SR-IOV node for the namespace tier: a fake sysfs whose VF netdevs are real veth ends, the VF
// config record stand-in, private state and IPAM directories, and the plugin run as a runtime runs it.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildFakeSysfs, type FakeVf } from './fake-sysfs'
import { addVeth } from './netns'
import { execPlugin, ROOT, type ExecResult } from './plugin-exec'

export interface SriovNode {
  dir: string
  pf: string
  vfs: { pci: string; netdev?: string; mac?: string }[]
  vfConfigFile: string
  stateDir: string
  dataDir: string
  env: Record<string, string>
  conf(extra?: object, cniVersion?: string): Record<string, unknown>
  run(command: string, conf: object, o?: { containerId?: string; netns?: string; ifname?: string; env?: Record<string, string>; args?: string }): Promise<ExecResult>
  vfConfig(): Record<string, any>
}

export const SRIOV_BIN = process.env.SRIOV_BIN ?? path.join(ROOT, 'dist', 'bin', 'sriov')

export function sriovNode(t: { teardown(fn: () => void): void }, prefix: string, opts: { vfs?: number; dpdkVfs?: number } = {}): SriovNode {
  if (!fs.existsSync(SRIOV_BIN)) throw new Error(`${SRIOV_BIN} is missing: run npm run build first`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const pf = `${prefix}pf`
  const vfs: SriovNode['vfs'] = []
  const fake: FakeVf[] = []
  for (let i = 0; i < (opts.vfs ?? 1); i++) {
    const veth = addVeth(t, prefix)
    const pci = `0000:01:10.${i}`
    vfs.push({ pci, netdev: veth.name, mac: veth.mac })
    fake.push({ pci, netdev: veth.name })
  }
  for (let i = 0; i < (opts.dpdkVfs ?? 0); i++) {
    const pci = `0000:01:11.${i}`
    vfs.push({ pci })
    fake.push({ pci, driver: 'vfio-pci', iommuGroup: 60 + i })
  }
  buildFakeSysfs(path.join(dir, 'sys'), [{ pci: '0000:01:00.0', name: pf, vfs: fake }])
  const env = {
    SRIOV_SYSFS_ROOT: path.join(dir, 'sys'),
    SRIOV_VF_CONFIG: `record:${path.join(dir, 'vfconfig')}`,
    SRIOV_STATE_DIR: path.join(dir, 'state'),
    SRIOV_ADDON_DIR: path.join(os.tmpdir(), 'sriov-ts-addons'),
  }
  const node: SriovNode = {
    dir,
    pf,
    vfs,
    vfConfigFile: path.join(dir, 'vfconfig', `${pf}.json`),
    stateDir: env.SRIOV_STATE_DIR,
    dataDir: path.join(dir, 'ipam'),
    env,
    conf: (extra = {}, cniVersion = '1.0.0') => ({
      cniVersion, name: 'sriov-201', type: 'sriov', deviceID: vfs[0].pci,
      ipam: { type: 'host-local', dataDir: path.join(dir, 'ipam'), ranges: [[{ subnet: '192.168.201.0/24' }]], routes: [{ dst: '10.201.0.0/16' }] },
      ...extra,
    }),
    run: (command, conf, o = {}) => execPlugin(SRIOV_BIN, conf, {
      command, containerId: o.containerId ?? 'ctr1', netns: o.netns ?? '', ifname: o.ifname ?? 'net1', args: o.args ?? '',
      env: { ...env, ...o.env },
    }),
    vfConfig: () => (fs.existsSync(node.vfConfigFile) ? JSON.parse(fs.readFileSync(node.vfConfigFile, 'utf8')) : {}),
  }
  return node
}
