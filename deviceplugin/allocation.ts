// Allocate's answer for one container: the PCIDEVICE_* environment, device nodes for DPDK drivers, and the
// device-info files the CNI side (Multus, sriov) reads.
import fs from 'node:fs'
import path from 'node:path'
import { writeFileAtomic } from '../host/atomic-file'
import type { PciDevice } from '../host/pci'
import type { ResourceConfig } from './config'
import { deviceInfo, kindInfo, kindSpecs, vfioGroupSpec } from './device-kinds'

export const DEFAULT_DEVINFO_DIR = '/var/run/k8s.cni.cncf.io/devinfo/dp'

export interface DeviceSpec {
  container_path: string
  host_path: string
  permissions: string
}

export interface ContainerAllocation {
  envs: Record<string, string>
  devices: DeviceSpec[]
  mounts: never[]
  annotations: Record<string, string>
}

export function envName(r: ResourceConfig): string {
  return `PCIDEVICE_${r.resourcePrefix}_${r.resourceName}`.toUpperCase().replace(/[.\-/]/g, '_')
}

function rw(p: string): DeviceSpec {
  return { container_path: p, host_path: p, permissions: 'rw' }
}

function specsFor(d: PciDevice, needVhostNet: boolean): DeviceSpec[] {
  const out: DeviceSpec[] = []
  if (d.driver === 'vfio-pci') {
    out.push(rw('/dev/vfio/vfio'))
    const group = vfioGroupSpec(d)
    if (group) out.push(group)
  }
  for (const uio of d.uioDevices) out.push(rw(`/dev/${uio}`))
  if (needVhostNet) out.push(rw('/dev/vhost-net'), rw('/dev/net/tun'))
  return out
}

function infoFor(d: PciDevice, r: ResourceConfig): Record<string, unknown> {
  const info: Record<string, unknown> = { generic: { deviceID: d.pci } }
  if (d.driver === 'vfio-pci' && d.iommuGroup) info.vfio = { 'dev-mount': `/dev/vfio/${d.iommuGroup}`, mount: '/dev/vfio/vfio' }
  Object.assign(info, kindInfo(d, r))
  // additionalInfo: "*" applies to every device of the resource, a PCI address to that device (it wins); an
  // auxiliary device takes its parent function's, as in the Go plugin
  const extra = { ...r.additionalInfo['*'], ...r.additionalInfo[d.aux?.parent ?? d.pci] }
  if (Object.keys(extra).length) info.extra = extra
  return info
}

export function deviceInfoFile(dir: string, r: ResourceConfig, pci: string): string {
  return path.join(dir, `${r.resourcePrefix}-${r.resourceName}-${pci}-device.json`)
}

export function allocateContainer(devices: PciDevice[], r: ResourceConfig, devinfoDir: string): ContainerAllocation {
  const needVhostNet = r.selectors.some((s) => s.needVhostNet)
  const seen = new Set<string>()
  const specs = devices.flatMap((d) => [...specsFor(d, needVhostNet), ...kindSpecs(d, r)]).filter((s) => !seen.has(s.host_path) && seen.add(s.host_path))
  const name = envName(r)
  fs.mkdirSync(devinfoDir, { recursive: true })
  for (const d of devices) {
    writeFileAtomic(deviceInfoFile(devinfoDir, r, d.pci), JSON.stringify(deviceInfo(d, r)), { mode: 0o644 })
  }
  return {
    envs: {
      [name]: devices.map((d) => d.pci).join(','),
      [`${name}_INFO`]: JSON.stringify(Object.fromEntries(devices.map((d) => [d.pci, infoFor(d, r)]))),
    },
    devices: specs,
    mounts: [],
    annotations: {},
  }
}
