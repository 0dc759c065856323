// Guest program for the no-IOMMU scenario (test/vm/scenarios/dp-noiommu.sh, bundled by test/vm/vm.test.ts):
// a real igb VF bound to vfio-pci in a no-IOMMU group, offered by sriovdp and allocated through the kubelet
// stand-in with the host's /dev/vfio/noiommu-N as /dev/vfio/N in the container. Prints TAP-style lines.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { SRIOVDP_BIN } from '../../helpers/sriovdp'
import { bindVfio, igbPf, ok, runGuest, serveRealNode } from './guest'
const RES = 'intel.com/intel_sriov_dpdk'

async function main(): Promise<void> {
  const pf = igbPf()
  fs.writeFileSync(`/sys/class/net/${pf}/device/sriov_numvfs`, '2')
  execFileSync('/sbin/ip', ['link', 'set', pf, 'up'])
  const vf = path.basename(fs.readlinkSync(`/sys/class/net/${pf}/device/virtfn1`))
  bindVfio(vf)
  const group = path.basename(fs.readlinkSync(`/sys/bus/pci/devices/${vf}/iommu_group`))
  const name = fs.readFileSync(`/sys/kernel/iommu_groups/${group}/name`, 'utf8').trim()
  console.log(`# VF ${vf} in group ${group} (${name}); /dev/vfio: ${fs.readdirSync('/dev/vfio').join(' ')}`)
  ok('the VF is in a no-IOMMU vfio group: /dev/vfio/noiommu-N, no /dev/vfio/N', name === 'vfio-noiommu' && fs.existsSync(`/dev/vfio/noiommu-${group}`) && !fs.existsSync(`/dev/vfio/${group}`))

  const config = { resourceList: [{ resourceName: 'intel_sriov_dpdk', selectors: { vendors: ['8086'], devices: ['10ca'], drivers: ['vfio-pci'] } }] }
  const { dp, k } = await serveRealNode(config)
  const list = await k.waitForList(RES, (l) => l.length === 1, 60000)
  ok('the VF is offered Healthy', list[0].ID === vf && list[0].health === 'Healthy', JSON.stringify(list))
  const a = await k.call(RES, 'Allocate', { container_requests: [{ devices_ids: [vf] }] })
  const specs = a.container_responses[0].devices.map((d: { host_path: string; container_path: string }) => `${d.host_path}:${d.container_path}`)
  console.log(`# DeviceSpecs (host:container): ${specs.join(' ')}`)
  ok('Allocate hands over /dev/vfio/vfio and /dev/vfio/noiommu-N as /dev/vfio/N', JSON.stringify(specs) === JSON.stringify(['/dev/vfio/vfio:/dev/vfio/vfio', `/dev/vfio/noiommu-${group}:/dev/vfio/${group}`]))
  ok('every host path handed over exists', a.container_responses[0].devices.every((d: { host_path: string }) => fs.existsSync(d.host_path)))
  const info = JSON.parse(a.container_responses[0].envs.PCIDEVICE_INTEL_COM_INTEL_SRIOV_DPDK_INFO)[vf]
  ok('_INFO names the container path', info?.vfio?.['dev-mount'] === `/dev/vfio/${group}`, JSON.stringify(info))
  const explained = JSON.parse(execFileSync(SRIOVDP_BIN, ['explain', '--json', '--config-file', dp.configFile], { encoding: 'utf8' }))
  ok('sriovdp explain: offered and healthy', explained.resources[0].functions.some((f: { pci: string; offered: boolean; healthy: boolean }) => f.pci === vf && f.offered && f.healthy))
  fs.writeFileSync(`/sys/bus/pci/devices/${vf}/driver_override`, '\n')
}

runGuest(main)
