// CDI spec files (--use-cdi), as the Go plugin writes them: one JSON file per resource in the CDI spec
// directory, kind `<prefix>/net-pci`, one device per PCI address with the device nodes a container needs.
// Allocate then names the devices (`<prefix>/net-pci=<pci>`) and the runtime injects them.
import fs = require('node:fs')
import path = require('node:path')
import { writeFileAtomic } from '../host/atomic-file'
import type { PciDevice } from '../host/pci'
import type { VhostNodes } from '../host/vhost-net'
import { deviceEdits } from './allocation'
import type { ResourceConfig } from './config'
import { makeDirs } from '../host/make-dirs'

export const DEFAULT_CDI_DIR = '/var/run/cdi'
const CLASS = 'net-pci'
// the version the Go plugin's CDI library writes; device nodes with a hostPath need 0.5.0
const CDI_VERSION = '0.5.0'
const FILE_PREFIX = 'sriov-dp-'
const ANNOTATION_PREFIX = 'cdi.k8s.io/'

export interface CdiSpec {
  cdiVersion: string
  kind: string
  devices: { name: string; containerEdits: { deviceNodes: { path: string; hostPath: string; permissions: string }[] } }[]
}

export const cdiKind = (r: ResourceConfig) => `${r.resourcePrefix}/${CLASS}`

/** The spec of `r`: only devices with device nodes, since CDI refuses a device that changes nothing. */
export function cdiSpec(r: ResourceConfig, devices: PciDevice[], vhost: VhostNodes): CdiSpec {
  const listed = devices.map((d) => ({ name: d.pci, nodes: deviceEdits(d, r, vhost).specs })).filter((d) => d.nodes.length > 0)
  return {
    cdiVersion: CDI_VERSION,
    kind: cdiKind(r),
    devices: listed.map((d) => ({ name: d.name, containerEdits: { deviceNodes: d.nodes.map((n) => ({ path: n.container_path, hostPath: n.host_path, permissions: n.permissions })) } })),
  }
}

/** Allocate's CDI answer for the devices of `pcis` that the spec lists. */
export function cdiReferences(r: ResourceConfig, pcis: string[]): { devices: { name: string }[]; annotations: Record<string, string> } {
  const names = pcis.map((pci) => `${cdiKind(r)}=${pci}`)
  return { devices: names.map((name) => ({ name })), annotations: cdiAnnotations(r, names) }
}

/**
 * The container annotation older kubelets pass on to CDI-enabled runtimes (the `cdi_devices` field needs
 * kubelet 1.28+). Keyed per resource, unlike the Go plugin's per-prefix key that two resources of one prefix
 * in one container would share (kubelet keeps only one); none where the key would be too long for CDI.
 */
function cdiAnnotations(r: ResourceConfig, names: string[]): Record<string, string> {
  const key = `${r.resourcePrefix}_${r.resourceName}`
  if (!names.length || key.length > 63 || !/^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/.test(key)) return {}
  return { [`${ANNOTATION_PREFIX}${key}`]: names.join(',') }
}

/** The spec files this process keeps in the CDI directory, rewritten only when their content changes. */
export class CdiSpecs {
  private written = new Map<string, string>()

  constructor(readonly dir: string) {}

  file(r: ResourceConfig): string {
    return path.join(this.dir, `${FILE_PREFIX}${r.resourcePrefix}-${CLASS}-${r.resourceName}.json`)
  }

  /** Writes `r`'s spec for `devices` if it changed (none when no device has a node); the PCI addresses it names. */
  write(r: ResourceConfig, devices: PciDevice[], vhost: VhostNodes): Set<string> {
    const spec = cdiSpec(r, devices, vhost)
    const file = this.file(r)
    const text = JSON.stringify(spec)
    if (spec.devices.length === 0) this.remove(r)
    else if (this.written.get(file) !== text) {
      makeDirs(this.dir, 0o755)
      writeFileAtomic(file, text, { mode: 0o644 })
      this.written.set(file, text)
    }
    return new Set(spec.devices.map((d) => d.name))
  }

  remove(r: ResourceConfig): void {
    const file = this.file(r)
    this.written.delete(file)
    try {
      fs.rmSync(file, { force: true })
    } catch {
      // a directory we cannot write holds no spec of ours; writing one says why it fails
    }
  }

  /** Every spec file of this plugin, those of an earlier run included (the Go plugin clears them the same way). */
  removeAll(): void {
    let names: string[]
    try {
      names = fs.readdirSync(this.dir)
    } catch {
      return
    }
    for (const n of names) {
      if (!n.startsWith(FILE_PREFIX)) continue
      try {
        fs.rmSync(path.join(this.dir, n), { force: true })
      } catch {
        // a directory we cannot write: writing the new specs fails too, and says so
      }
    }
    this.written.clear()
  }
}
