// The user journey: the device plugin offers VFs, kubelet allocates one, a runtime attaches it to a pod
// through libcni with the users' NetworkAttachmentDefinition, and DEL restores it. With DEMO_REAL=1 (inside
// the VM: real igb VFs, real sysfs, netlink on the PF); otherwise on a simulated X540 node (fake sysfs, veth
// pairs as VF netdevs, the VF-config record stand-in), which needs no SR-IOV hardware.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildFakeSysfs, x540 } from '../test/helpers/fake-sysfs'
import { cnitool } from '../test/helpers/cnitool'
import { KubeletStandIn } from '../test/helpers/kubelet'
import { script } from '../test/helpers/script'
import { dpRun } from '../test/helpers/sriovdp'
import { SRIOV_BIN } from '../test/helpers/sriov-node'

const { t, run } = script()
const sh = (...a: string[]) => execFileSync(a[0], a.slice(1), { encoding: 'utf8' }).trimEnd()
const step = (n: number, title: string) => console.log(`\n\x1b[1m== ${n}. ${title}\x1b[0m`)
const show = (text: string) => console.log(text.split('\n').map((l) => `   ${l}`).join('\n'))

const REAL = process.env.DEMO_REAL === '1'

function realPf(): string {
  return fs.readdirSync('/sys/bus/pci/drivers/igb').map((d) => path.join('/sys/bus/pci/drivers/igb', d, 'net')).filter((p) => fs.existsSync(p)).map((p) => fs.readdirSync(p)[0])[0]
}

function vfLine(file: string, vf: number): string {
  if (REAL) return sh('/sbin/ip', 'link', 'show', realPf()).split('\n').find((l) => l.trim().startsWith(`vf ${vf} `))!.trim()
  const v = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8'))[String(vf)] ?? {} : {}
  return `vf ${vf}     link/ether ${v.mac ?? '00:00:00:00:00:00'}, vlan ${v.vlan ?? 0}, qos ${v.qos ?? 0}, spoof checking ${v.spoofchk === false ? 'off' : 'on'}, trust ${v.trust ? 'on' : 'off'}, max_tx_rate ${v.max_tx_rate ?? 0}Mbps`
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sriov-demo-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const vfs = Array.from({ length: 8 }, (_, i) => `demovf${i}`)
  if (!REAL) {
    for (const v of vfs) {
      sh('ip', 'link', 'add', v, 'type', 'veth', 'peer', 'name', `${v}p`)
      t.teardown(() => { try { sh('ip', 'link', 'del', v) } catch { /* moved or gone */ } })
    }
  }
  sh('ip', 'netns', 'add', 'demo-pod')
  t.teardown(() => { try { sh('ip', 'netns', 'del', 'demo-pod') } catch { /* gone */ } })

  const selector = REAL ? { vendors: ['8086'], devices: ['10ca'], drivers: ['igbvf'] } : { vendors: ['8086'], devices: ['1515'], drivers: ['ixgbevf'] }
  const dp = dpRun(t, { resourceList: [{ resourceName: 'intel_sriov_netdevice', selectors: selector }] })
  let pfName = 'eno2'
  if (REAL) {
    pfName = realPf()
    step(1, `The node: an Intel 82576 (igb) PF ${pfName}; echo 4 > /sys/class/net/${pfName}/device/sriov_numvfs`)
    fs.writeFileSync(`/sys/class/net/${pfName}/device/sriov_numvfs`, '4')
    sh('/sbin/ip', 'link', 'set', pfName, 'up')
    fs.rmSync(dp.sysfs, { recursive: true, force: true })
    fs.symlinkSync('/sys', dp.sysfs)
    show(sh('/sbin/ip', 'link', 'show', pfName))
  } else {
    step(1, 'The node (simulated): an X540 PF eno2 with 8 VFs (8086:1515, ixgbevf)')
    buildFakeSysfs(dp.sysfs, [x540('eno2', (i) => vfs[i])])
    show(fs.readdirSync(path.join(dp.sysfs, 'bus/pci/devices')).join('  '))
  }

  step(2, 'sriovdp registers with kubelet; the node shows allocatable VFs')
  const kubelet = new KubeletStandIn(dp.dpDir)
  await kubelet.start()
  t.teardown(() => void kubelet.stop())
  dp.start()
  const res = 'intel.com/intel_sriov_netdevice'
  const list = await kubelet.waitForList(res, (l) => l.length === (REAL ? 4 : 8), 120000)
  show(`allocatable: ${res}: ${list.filter((d) => d.health === 'Healthy').length}`)

  step(3, 'kubelet allocates one VF to the pod')
  const alloc = await kubelet.call(res, 'Allocate', { container_requests: [{ devices_ids: [list[0].ID] }] })
  const envs = alloc.container_responses[0].envs
  for (const [k, v] of Object.entries(envs)) show(`${k}=${v}`)
  const pci = list[0].ID
  const index = REAL ? Number(fs.readdirSync(`/sys/class/net/${pfName}/device`).find((e) => /^virtfn\d+$/.test(e) && path.basename(fs.readlinkSync(`/sys/class/net/${pfName}/device/${e}`)) === pci)!.slice(6)) : x540().vfs.findIndex((v) => v.pci === pci)
  const hostName = REAL ? fs.readdirSync(`/sys/bus/pci/devices/${pci}/net`)[0] : vfs[index]

  step(4, 'The runtime runs the NetworkAttachmentDefinition through libcni (deviceID from Multus)')
  const pluginDir = path.join(dir, 'bin')
  fs.mkdirSync(pluginDir)
  fs.symlinkSync(SRIOV_BIN, path.join(pluginDir, 'sriov'))
  const vfConfig = path.join(dir, 'vfconfig')
  const env: Record<string, string> = REAL ? { SRIOV_STATE_DIR: path.join(dir, 'state') } : { SRIOV_SYSFS_ROOT: dp.sysfs, SRIOV_VF_CONFIG: `record:${vfConfig}`, SRIOV_STATE_DIR: path.join(dir, 'state') }
  const tool = cnitool(t, pluginDir, env)
  const nad = { type: 'sriov', cniVersion: '0.3.1', name: 'sriov-201', vlan: 201, spoofchk: 'off', trust: 'on', max_tx_rate: 1000, deviceID: pci, capabilities: { mac: true, ips: true }, ipam: { type: 'host-local', dataDir: path.join(dir, 'ipam'), ranges: [[{ subnet: '192.168.201.0/24' }]] } }
  show(JSON.stringify({ ...nad, ipam: { type: 'host-local', ranges: nad.ipam.ranges } }))
  tool.writeConflist('sriov-201', { cniVersion: '0.3.1', plugins: [nad] })
  const caps = { CAP_ARGS: JSON.stringify({ mac: '02:00:00:00:c9:02', ips: ['192.168.201.2/24'] }) }
  const add = tool.run('add', 'sriov-201', '/var/run/netns/demo-pod', caps)
  if (add.code !== 0) throw new Error(`ADD failed: ${add.stderr}`)
  show(`result: ${JSON.stringify(add.json)}`)

  step(5, 'Inside the pod: net1 with the requested MAC and address')
  show(sh('ip', '-n', 'demo-pod', '-br', 'addr', 'show', 'net1'))
  show(sh('ip', '-n', 'demo-pod', '-br', 'link', 'show', 'net1'))

  const pfFile = path.join(vfConfig, `${pfName}.json`)
  step(6, `On the PF (ip link show ${pfName}): the VF carries VLAN 201, the MAC, spoof checking off, trust on, the rate`)
  show(vfLine(pfFile, index))

  step(7, 'Pod deleted: DEL restores the VF on the PF and returns the netdev to the host')
  const del = tool.run('del', 'sriov-201', '/var/run/netns/demo-pod', caps)
  if (del.code !== 0) throw new Error(`DEL failed: ${del.stderr}`)
  show(vfLine(pfFile, index))
  show(sh('ip', '-br', 'link', 'show', hostName))
  show(`pod interfaces: ${sh('ip', '-n', 'demo-pod', '-br', 'link').split('\n').map((l) => l.split(/\s+/)[0]).join(', ')}`)
  const again = tool.run('del', 'sriov-201', '/var/run/netns/demo-pod', caps)
  show(`a second DEL: ${again.code === 0 ? 'ok (idempotent)' : again.stderr}`)
  console.log('\ndemo complete')
}

run(main, 'demo')
