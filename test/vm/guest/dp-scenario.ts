// Guest program for the VM tier (bundled by test/vm/vm.test.ts, run by test/vm/scenarios/dp.sh): sriovdp
// on real igb VFs with the kubelet stand-in — registration, health, Allocate, live numvfs and link changes,
// vfio-pci DPDK VFs. Prints TAP-style lines and timings; exits non-zero on failure.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type { KubeletStandIn } from '../../helpers/kubelet'
import { bindVfio, igbPf, ok, runGuest, serveRealNode } from './guest'

const sh = (...a: string[]) => execFileSync(a[0], a.slice(1), { encoding: 'utf8' }).trim()
const RES = 'intel.com/intel_sriov_netdevice'
const DPDK = 'intel.com/intel_sriov_dpdk'

async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now()
  const out = await fn()
  console.log(`# ${what}: ${Date.now() - t0} ms`)
  return out
}

const lastLen = (k: KubeletStandIn, res: string) => k.plugins.get(res)?.lists.at(-1)?.length ?? 0

async function main(): Promise<void> {
  const pf = igbPf()
  const numvfs = `/sys/class/net/${pf}/device/sriov_numvfs`
  fs.writeFileSync(numvfs, '4')
  sh('/sbin/ip', 'link', 'set', pf, 'up')
  const vfPci = (i: number) => path.basename(fs.readlinkSync(`/sys/class/net/${pf}/device/virtfn${i}`))
  // VF 3 goes to vfio-pci: the DPDK resource
  const dpdkVf = vfPci(3)
  bindVfio(dpdkVf)
  const group = path.basename(fs.readlinkSync(`/sys/bus/pci/devices/${dpdkVf}/iommu_group`))
  ok('a VF is bound to vfio-pci with an IOMMU group', fs.existsSync(`/dev/vfio/${group}`), `group ${group}`)

  const { dp, k } = await serveRealNode({
    resourceList: [
      { resourceName: 'intel_sriov_netdevice', selectors: { vendors: ['8086'], devices: ['10ca'], drivers: ['igbvf'] } },
      { resourceName: 'intel_sriov_dpdk', selectors: { vendors: ['8086'], devices: ['10ca'], drivers: ['vfio-pci'] } },
    ],
  })
  const list = await timed('start to first ListAndWatch list', () => k.waitForList(RES, (l) => l.length === 3, 60000))
  ok('scenario 1: the igbvf VFs are listed Healthy', list.every((d) => d.health === 'Healthy'), JSON.stringify(list))
  const alloc = await k.call(RES, 'Allocate', { container_requests: [{ devices_ids: [list[0].ID] }] })
  const env = alloc.container_responses[0].envs.PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE
  console.log(`# Allocate: PCIDEVICE_INTEL_COM_INTEL_SRIOV_NETDEVICE=${env}`)
  ok('scenario 1: Allocate returns the PCIDEVICE env', env === list[0].ID)
  ok('scenario 1: the device-info file is written', fs.existsSync(path.join(dp.devinfoDir, `intel.com-intel_sriov_netdevice-${list[0].ID}-device.json`)))

  const dpdkList = await k.waitForList(DPDK, (l) => l.length === 1, 20000)
  const a = await k.call(DPDK, 'Allocate', { container_requests: [{ devices_ids: [dpdkList[0].ID] }] })
  const specs = a.container_responses[0].devices.map((d: { host_path: string }) => d.host_path)
  console.log(`# DPDK DeviceSpecs: ${specs.join(' ')}`)
  ok('scenario 5: vfio-pci VF offered with /dev/vfio/vfio and /dev/vfio/<group>', specs.includes('/dev/vfio/vfio') && specs.includes(`/dev/vfio/${group}`))

  // driver unbound: no netdev, so no link event; the PCI uevent brings the change within the second
  const tu = Date.now()
  fs.writeFileSync('/sys/bus/pci/drivers/vfio-pci/unbind', dpdkVf)
  for (let i = 0; i < 200 && fs.readdirSync(dp.dpDir).some((f) => f.includes('intel_sriov_dpdk')); i++) await new Promise((r) => setTimeout(r, 25))
  console.log(`# vfio-pci unbind: DPDK resource stopped serving after ${Date.now() - tu} ms`)
  ok('scenario 6: a VF unbound from its driver leaves the list', !fs.readdirSync(dp.dpDir).some((f) => f.includes('intel_sriov_dpdk')))

  sh('/sbin/ip', 'link', 'set', pf, 'down')
  await timed('PF link down to Unhealthy', () => k.waitForList(RES, (l) => l.length > 0 && l.every((d) => d.health === 'Unhealthy'), 20000))
  ok('scenario 6: PF link down marks the VFs Unhealthy', true)
  sh('/sbin/ip', 'link', 'set', pf, 'up')
  await timed('PF link up to Healthy', () => k.waitForList(RES, (l) => l.length > 0 && l.every((d) => d.health === 'Healthy'), 20000))

  // lowering numvfs: the resource empties and stops serving (its stream closes), so watch the sockets too
  fs.writeFileSync(`/sys/bus/pci/devices/${dpdkVf}/driver_override`, '\n')
  const t0 = Date.now()
  fs.writeFileSync(numvfs, '0')
  for (let i = 0; i < 400 && fs.readdirSync(dp.dpDir).some((f) => f.includes('intel_sriov_netdevice')); i++) await new Promise((r) => setTimeout(r, 50))
  console.log(`# numvfs lowered to 0: resource stopped serving after ${Date.now() - t0} ms`)
  ok('scenario 6: lowering sriov_numvfs removes the VFs', !fs.readdirSync(dp.dpDir).some((f) => f.includes('intel_sriov_netdevice')))
  const t1 = Date.now()
  fs.writeFileSync(numvfs, '5')
  sh('/sbin/ip', 'link', 'set', pf, 'up')
  for (let i = 0; i < 600 && lastLen(k, RES) !== 5; i++) await new Promise((r) => setTimeout(r, 50))
  console.log(`# numvfs raised to 5: listed again after ${Date.now() - t1} ms`)
  ok('scenario 6: raising sriov_numvfs adds them', lastLen(k, RES) === 5, `last list length ${lastLen(k, RES)}`)
}

runGuest(main)
