// A simulated SR-IOV node for the namespace tier: a fake sysfs whose VF netdevs are real veth ends, the VF
// config record stand-in, private state and IPAM directories, and the plugin run as a runtime runs it.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildFakeSysfs, type FakeVf } from './fake-sysfs'
import { addVeth, linkJson } from './netns'
import { execPlugin, ROOT, type ExecOptions, type ExecResult } from './plugin-exec'

export interface SriovNode {
  dir: string
  pf: string
  vfs: { pci: string; netdev?: string; mac?: string }[]
  vfConfigFile: string
  stateDir: string
  dataDir: string
  env: Record<string, string>
  conf(extra?: object, cniVersion?: string): Record<string, unknown>
  run(command: string, conf: object | string, o?: RunOptions): Promise<ExecResult>
  vfConfig(): Record<string, any>
  /** The VFs as they are now: PF config (defaults filled in) and each netdev's MAC, MTU and admin state. */
  snapshot(): NodeSnapshot
  /** Files ADD/DEL/GC must not leave behind: records, marks, lock and temp files, leases, index entries and stamp. */
  leftovers(): string[]
}

export type RunOptions = { containerId?: string; netns?: string; ifname?: string; env?: Record<string, string>; args?: string } & Pick<ExecOptions, 'onSpawn' | 'umask' | 'cwd'>

export interface NodeSnapshot {
  vfConfig: Record<string, Record<string, unknown>>
  netdevs: Record<string, { address: string; mtu: number; up: boolean } | undefined>
}

const VF_DEFAULTS = { mac: '00:00:00:00:00:00', vlan: 0, qos: 0, proto: '802.1q', spoofchk: true, trust: false, link_state: 'auto', min_tx_rate: 0, max_tx_rate: 0 }

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => !d.isDirectory()).map((d) => path.join(d.parentPath ?? (d as any).path, d.name))
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
      env: { ...env, ...o.env }, onSpawn: o.onSpawn, umask: o.umask, cwd: o.cwd,
    }),
    vfConfig: () => (fs.existsSync(node.vfConfigFile) ? JSON.parse(fs.readFileSync(node.vfConfigFile, 'utf8')) : {}),
    snapshot: () => {
      const cfg = node.vfConfig()
      const netdevs: NodeSnapshot['netdevs'] = {}
      for (const v of vfs) {
        if (!v.netdev) continue
        const l = linkJson(v.netdev)
        netdevs[v.netdev] = l ? { address: l.address, mtu: l.mtu, up: (l.flags as string[]).includes('UP') } : undefined
      }
      return { vfConfig: Object.fromEntries(vfs.map((_, i) => [String(i), { ...VF_DEFAULTS, ...(cfg[String(i)] ?? {}) }])), netdevs }
    },
    leftovers: () => {
      const net = path.join(node.dataDir, 'sriov-201')
      const index = path.join(node.dataDir, '.sriov-index', 'sriov-201')
      return [
        ...filesUnder(node.stateDir),
        ...filesUnder(net).filter((f) => !/\/(lock|last_reserved_ip\.\d+)$/.test(f)),
        ...filesUnder(index),
      ]
    },
  }
  return node
}
