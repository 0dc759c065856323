// What Allocate hands over for the kinds of device beyond a plain VF: the RDMA character devices of an
// RDMA function, the vhost-vdpa node of a vDPA device, the group node of a no-IOMMU vfio device, their
// _INFO entries, and the device-info file of each kind (pci, vdpa, auxiliary). Every function answers for
// one device, so that a CDI spec can be built per device from the same answers.
import type { PciDevice } from '../host/pci'
import { rdmaCmNode } from '../host/rdma'
import type { VdpaDevice } from '../host/vdpa'
import type { DeviceSpec } from './allocation'
import type { ResourceConfig } from './config'

const DEVICE_INFO_VERSION = '1.1.0'

const rw = (host: string, container = host): DeviceSpec => ({ container_path: container, host_path: host, permissions: 'rw' })

/** A resource hands over RDMA devices when a selector asks for them (isRdma: true), as the Go plugin does. */
export function handsOverRdma(r: ResourceConfig): boolean {
  return r.selectors.some((s) => s.isRdma === true)
}

/** The vDPA device `r` hands over for `d`: one of the type a selector of `r` asks for. */
export function handedVdpa(d: PciDevice, r: ResourceConfig): VdpaDevice | undefined {
  return d.vdpa?.type !== undefined && r.selectors.some((s) => s.vdpaType === d.vdpa!.type) ? d.vdpa : undefined
}

/** The vfio group node: /dev/vfio/<group> in the container, also when the host has a no-IOMMU group (/dev/vfio/noiommu-<group>). */
export function vfioGroupSpec(d: PciDevice): DeviceSpec | undefined {
  if (!d.iommuGroup) return undefined
  const container = `/dev/vfio/${d.iommuGroup}`
  return rw(d.vfioNoIommu ? `/dev/vfio/noiommu-${d.iommuGroup}` : container, container)
}

/** RDMA char devices (with rdma_cm when the node has it) and the vhost-vdpa node, for one device. */
export function kindSpecs(d: PciDevice, r: ResourceConfig): DeviceSpec[] {
  const out: DeviceSpec[] = []
  if (handsOverRdma(r) && d.rdmaDevices?.length) {
    for (const node of d.rdmaDevices.flatMap((x) => x.charDevices)) out.push(rw(node))
    const cm = rdmaCmNode()
    if (cm) out.push(rw(cm))
  }
  const vdpa = handedVdpa(d, r)
  if (vdpa?.path) out.push(rw(vdpa.path))
  return out
}

/** The `rdma` and `vdpa` entries of the device's _INFO, named as the Go plugin names them. */
export function kindInfo(d: PciDevice, r: ResourceConfig): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {}
  if (handsOverRdma(r) && d.rdmaDevices?.length) {
    const rdma: Record<string, string> = {}
    for (const spec of kindSpecs(d, r)) {
      const kind = /\/(uverbs|umad|issm|rdma_cm)\d*$/.exec(spec.container_path)?.[1]
      if (kind) rdma[kind] = spec.container_path
    }
    rdma.rdma_dev = d.rdmaDevices[0].name
    out.rdma = rdma
  }
  const vdpa = handedVdpa(d, r)
  if (vdpa) out.vdpa = vdpa.path ? { mount: vdpa.path } : {}
  return out
}

/** The device-info file's content (k8snetworkplumbingwg device-info spec) for one allocated device. */
export function deviceInfo(d: PciDevice, r: ResourceConfig): Record<string, unknown> {
  const vdpa = handedVdpa(d, r)
  if (vdpa) return { type: 'vdpa', version: DEVICE_INFO_VERSION, vdpa: { 'parent-device': vdpa.name, driver: vdpa.type, ...(vdpa.path ? { path: vdpa.path } : {}), 'pci-address': d.pci } }
  const rdma = handsOverRdma(r) && d.rdmaDevices?.length ? { 'rdma-device': d.rdmaDevices.map((x) => x.name).join(',') } : {}
  // the spec has no auxiliary type yet (the Go plugin writes no file for these): the pci section's style
  if (d.aux) return { type: 'auxiliary', version: DEVICE_INFO_VERSION, auxiliary: { 'aux-device': d.pci, 'pf-pci-address': d.aux.parent, ...rdma } }
  return { type: 'pci', version: DEVICE_INFO_VERSION, pci: { 'pci-address': d.pci, ...rdma } }
}
