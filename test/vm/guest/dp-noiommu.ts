// Guest program for the no-IOMMU scenario (test/vm/scenarios/dp-noiommu.sh, bundled by test/vm/vm.test.ts):
// a real igb VF bound to vfio-pci in a no-IOMMU group, offered by sriovdp and allocated through the kubelet
// stand-in with the host's /dev/vfio/noiommu-N as /dev/vfio/N in the container. Prints TAP-style lines.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { KubeletStandIn } from '../../helpers/kubelet'
import { dpRun, SRIOVDP_BIN } from '../../helpers/sriovdp'

let fails = 0
const ok = (name: string, cond: boolean, detail = '') => {
  console.log(`${cond ? 'ok' : 'not ok'} - ${name}${!cond && detail ? `\n#   ${detail}` : ''}`)
  if (!cond) fails++
}
const cleanups: (() => void)[] = []
const t = { teardown: (fn: () => void) => cleanups.unshift(fn) }
const RES = 'intel.com/intel_sriov_dpdk'

async function main(): Promise<void> {
  const pf = fs.readdirSync('/sys/bus/pci/drivers/igb').map((d) => path.join('/sys/bus/pci/drivers/igb', d, 'net')).filter((p) => fs.existsSync(p)).map((p) => fs.readdirSync(p)[0])[0]
  fs.writeFileSync(`/sys/class/net/${pf}/device/sriov_numvfs`, '2')
  execFileSync('/sbin/ip', ['link', 'set', pf, 'up'])
  const vf = path.basename(fs.readlinkSync(`/sys/class/net/${pf}/device/virtfn1`))
  fs.writeFileSync(`/sys/bus/pci/devices/${vf}/driver_override`, 'vfio-pci')
  fs.writeFileSync(`/sys/bus/pci/devices/${vf}/driver/unbind`, vf)
  fs.writeFileSync('/sys/bus/pci/drivers_probe', vf)
  const group = path.basename(fs.readlinkSync(`/sys/bus/pci/devices/${vf}/iommu_group`))
  const name = fs.readFileSync(`/sys/kernel/iommu_groups/${group}/name`, 'utf8').trim()
  console.log(`# VF ${vf} in group ${group} (${name}); /dev/vfio: ${fs.readdirSync('/dev/vfio').join(' ')}`)
  ok('the VF is in a no-IOMMU vfio group: /dev/vfio/noiommu-N, no /dev/vfio/N', name === 'vfio-noiommu' && fs.existsSync(`/dev/vfio/noiommu-${group}`) && !fs.existsSync(`/dev/vfio/${group}`))

  const config = { resourceList: [{ resourceName: 'intel_sriov_dpdk', selectors: { vendors: ['8086'], devices: ['10ca'], drivers: ['vfio-pci'] } }] }
  const dp = dpRun(t, config)
  fs.rmSync(dp.sysfs, { recursive: true, force: true })
  fs.symlinkSync('/sys', dp.sysfs) // the real sysfs of the guest
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => void k.stop())
  dp.start()
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

main()
  .catch((e) => {
    console.log(`not ok - guest program: ${(e as Error).message}`)
    fails++
  })
  .finally(() => {
    for (const c of cleanups) {
      try {
        c()
      } catch {
        /* best effort */
      }
    }
    console.log(`# ${fails} failed`)
    process.exit(fails ? 1 : 0)
  })
