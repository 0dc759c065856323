// Allocate's answer for one container: the PCIDEVICE_* environment, device nodes for DPDK drivers and
// vhost-net (or, with --use-cdi, the devices' CDI names), and the device-info files the CNI side (Multus,
// sriov) reads.
import fs = require('node:fs')
import path = require('node:path')
import { writeFileAtomic } from '../host/atomic-file'
import type { PciDevice } from '../host/pci'
import { TUN, VHOST_NET, type VhostNodes } from '../host/vhost-net'
import type { ResourceConfig } from './config'
import { deviceInfo, kindInfo, kindSpecs, vfioGroupSpec } from './device-kinds'
import { selectorOf } from './selectors'
import { makeDirs } from '../host/make-dirs'


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
  cdi_devices: { name: string }[]
}

/** What one device brings into a container besides its PCI address. */
export interface DeviceEdits {
  specs: DeviceSpec[]
  info: Record<string, unknown>
  /** why something the config asks for is missing (logged by the caller) */
  warnings: string[]
}

export interface AllocationOptions {
  devinfoDir: string
  vhost: VhostNodes
  /** CDI mode: the devices go to the runtime by their CDI names (cdi.ts) instead of as device nodes */
  cdi?: { devices: { name: string }[]; annotations: Record<string, string> }
}

/** `PCIDEVICE_<PREFIX>_<NAME>` upper case with dots made underscores, and nothing else changed: the Go plugin's name. */
export function envName(r: ResourceConfig): string {
  return `PCIDEVICE_${r.resourcePrefix}_${r.resourceName}`.toUpperCase().replace(/\./g, '_')
}

function rw(p: string): DeviceSpec {
  return { container_path: p, host_path: p, permissions: 'rw' }
}

/**
 * Device nodes and _INFO entries of `d` in `r`: vfio (a no-IOMMU group included), uio, RDMA and vDPA nodes,
 * vhost-net for the selector that chose it, additionalInfo.
 */
export function deviceEdits(d: PciDevice, r: ResourceConfig, vhost: VhostNodes): DeviceEdits {
  const out: DeviceEdits = { specs: [], info: { generic: { deviceID: d.pci } }, warnings: [] }
  if (d.driver === 'vfio-pci') {
    out.specs.push(rw('/dev/vfio/vfio'))
    const group = vfioGroupSpec(d)
    if (group) {
      out.specs.push(group)
      out.info.vfio = { 'dev-mount': group.container_path, mount: '/dev/vfio/vfio' }
    }
  }
  for (const uio of d.uioDevices) out.specs.push(rw(`/dev/${uio}`))
  out.specs.push(...kindSpecs(d, r))
  Object.assign(out.info, kindInfo(d, r))
  if (selectorOf(d, r)?.needVhostNet) {
    // as the Go plugin: no vhost-net, nothing added; no tun, the info but no device nodes
    if (!vhost.vhostNet) out.warnings.push(`needVhostNet: ${VHOST_NET} does not exist on this node (load vhost_net); ${d.pci} is allocated without it`)
    else {
      out.info.vhost = { 'net-mount': VHOST_NET, 'tun-mount': TUN }
      if (vhost.tun) out.specs.push(rw(VHOST_NET), rw(TUN))
      else out.warnings.push(`needVhostNet: ${TUN} does not exist on this node (load tun); ${d.pci} is allocated without vhost-net`)
    }
  }
  // additionalInfo: "*" applies to every device of the resource, a PCI address to that device (it wins); an
  // auxiliary device takes its parent function's, as in the Go plugin
  const extra = { ...r.additionalInfo['*'], ...r.additionalInfo[d.aux?.parent ?? d.pci] }
  if (Object.keys(extra).length) out.info.extra = extra
  return out
}

export function deviceInfoFile(dir: string, r: ResourceConfig, pci: string): string {
  return path.join(dir, `${r.resourcePrefix}-${r.resourceName}-${pci}-device.json`)
}

export function allocateContainer(devices: PciDevice[], r: ResourceConfig, opts: AllocationOptions): ContainerAllocation & { warnings: string[] } {
  const edits = devices.map((d) => deviceEdits(d, r, opts.vhost))
  const seen = new Set<string>()
  const specs = edits.flatMap((e) => e.specs).filter((s) => !seen.has(s.host_path) && seen.add(s.host_path))
  const name = envName(r)
  makeDirs(opts.devinfoDir, 0o755)
  for (const d of devices) writeFileAtomic(deviceInfoFile(opts.devinfoDir, r, d.pci), JSON.stringify(deviceInfo(d, r)), { mode: 0o644 })
  const cdi = opts.cdi
  return {
    envs: {
      [name]: devices.map((d) => d.pci).join(','),
      [`${name}_INFO`]: JSON.stringify(Object.fromEntries(devices.map((d, i) => [d.pci, edits[i].info]))),
    },
    devices: cdi ? [] : specs,
    mounts: [],
    annotations: cdi?.annotations ?? {},
    cdi_devices: cdi?.devices ?? [],
    warnings: [...new Set(edits.flatMap((e) => e.warnings))],
  }
}
