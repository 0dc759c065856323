// Why a resource offers what it offers ("allocatable shows 0"): every PCI network function of the node and,
// per resource, whether it is offered and if not the first reason, decided by the same checks that assign
// devices to resources. `sriovdp explain` prints it; /status carries it.
import { isNetClass, type PciDevice } from '../host/pci'
import { fullName, type ResourceConfig } from './config'
import { unhealthyBecause } from './health'
import type { NodeView } from './node-view'
import { deviceTypeRejection, exclusion, matchesResource, selectorRejection, type Rejection } from './selectors'

export type ReasonKind = 'device-type' | 'selector' | 'no-netdev' | 'pf-with-vfs' | 'default-route' | 'taken' | 'unhealthy'

export interface Reason {
  kind: ReasonKind
  text: string
  field?: string // selector path, e.g. selectors.vendors or selectors[1].drivers
  read?: string
  wanted?: string[]
  by?: string // kind taken: the resource that offers it
}

export interface FunctionInfo {
  pci: string
  id: string // vendor:device
  class: string
  driver?: string
  netdevs: string[]
  role: string // "PF, 8 VFs", "VF 3 of eno2", "function", "sf 88 of ens1f0"
  numaNode: number
  parent?: string // an auxiliary device's PCI function, whose vendor:device and driver it shows
}

export interface Verdict {
  pci: string
  offered: boolean
  healthy?: boolean
  reason?: Reason
}

export interface ResourceExplanation {
  resource: string
  deviceType: string
  offered: number
  healthy: number
  functions: Verdict[]
}

export interface Explanation {
  warnings: string[]
  functions: FunctionInfo[]
  resources: ResourceExplanation[]
}

// processors (QAT: 0x0b4000) and processing accelerators: what accelerator resources are written for
const ACCELERATOR_CLASSES = new Set([0x0b, 0x12])

/**
 * Whether `d` belongs in `r`'s explanation: a network function, an accelerator for one, or a device it
 * offers; auxiliary devices only for auxNetDevice resources, which consider nothing else.
 */
function considered(d: PciDevice, r: ResourceConfig): boolean {
  if ((r.deviceType === 'auxNetDevice') !== !!d.aux) return false
  return isNetClass(d) || (r.deviceType === 'accelerator' && ACCELERATOR_CLASSES.has(d.classCode >> 16)) || matchesResource(d, r)
}

function role(d: PciDevice, byPci: Map<string, PciDevice>): string {
  if (d.aux) return `${d.aux.type} ${d.vfIndex ?? '?'} of ${d.pfName ?? d.aux.parent}`
  if (d.pfPci) return `VF ${d.vfIndex ?? '?'} of ${d.pfName ?? byPci.get(d.pfPci)?.pci ?? d.pfPci}`
  if (d.totalVfs > 0) return `PF, ${d.numVfs} VFs`
  return 'function'
}

function rejectionReason(rej: Rejection, path: string, d: PciDevice): Reason {
  const wanted = rej.wanted.join(', ')
  const base = { field: path, wanted: rej.wanted }
  if (rej.note) return { kind: 'selector', text: `${path}: ${rej.note}`, ...base }
  if (rej.noNetdev) {
    const whose = rej.field === 'pfNames' ? `its PF ${d.pfPci} has no netdev` : 'it has no netdev'
    return { kind: 'no-netdev', text: `${path}: ${whose} to read (wanted ${wanted})`, ...base }
  }
  return { kind: 'selector', text: `${path}: read ${rej.read ?? 'nothing'}, wanted ${wanted}`, ...base, ...(rej.read !== undefined ? { read: rej.read } : {}) }
}

/** The first reason `r` does not offer `d` before exclusions and other resources: its deviceType, then its selectors. */
function configReason(d: PciDevice, r: ResourceConfig): Reason | undefined {
  const type = deviceTypeRejection(d, r)
  if (type) return { kind: 'device-type', text: type }
  const rejections = r.selectors.map((s) => selectorRejection(d, s))
  if (rejections.some((x) => x === undefined)) return undefined
  const reasons = rejections.map((x, i) => rejectionReason(x!, r.selectors.length > 1 ? `selectors[${i}].${x!.field}` : `selectors.${x!.field}`, d))
  // every selector object rejects (they are ORed): each one's first field, the first object's in the fields
  return { ...reasons[0], text: reasons.map((x) => x.text).join('; ') }
}

export function explain(view: NodeView, resources: ResourceConfig[], warnings: string[]): Explanation {
  const byPci = new Map(view.devices.map((d) => [d.pci, d]))
  const owner = new Map<string, string>()
  for (const d of view.devices) {
    if (exclusion(d, view.defaultRoute)) continue
    const r = resources.find((res) => matchesResource(d, res))
    if (r) owner.set(d.pci, fullName(r))
  }
  const listed = view.devices.filter((d) => isNetClass(d) || resources.some((r) => considered(d, r)))
  const out: Explanation = {
    warnings,
    functions: listed.map((d) => ({
      pci: d.pci, id: `${d.vendor}:${d.device}`, class: `0x${d.classCode.toString(16).padStart(6, '0')}`, ...(d.driver ? { driver: d.driver } : {}),
      netdevs: d.netdevs, role: role(d, byPci), numaNode: d.numaNode, ...(d.aux ? { parent: d.aux.parent } : {}),
    })),
    resources: [],
  }
  for (const r of resources) {
    const verdicts: Verdict[] = []
    for (const d of listed) {
      if (!considered(d, r)) continue
      const excluded = exclusion(d, view.defaultRoute)
      const reason: Reason | undefined =
        configReason(d, r) ??
        (excluded ? { kind: excluded.kind, text: excluded.text } : undefined) ??
        (owner.get(d.pci) !== fullName(r) ? { kind: 'taken', text: `offered by ${owner.get(d.pci)}, which comes first in resourceList`, by: owner.get(d.pci)! } : undefined)
      if (reason) {
        verdicts.push({ pci: d.pci, offered: false, reason })
        continue
      }
      const sick = unhealthyBecause(d, view.links)
      verdicts.push(sick ? { pci: d.pci, offered: true, healthy: false, reason: { kind: 'unhealthy', text: `offered, unhealthy: ${sick}` } } : { pci: d.pci, offered: true, healthy: true })
    }
    out.resources.push({
      resource: fullName(r), deviceType: r.deviceType,
      offered: verdicts.filter((v) => v.offered).length, healthy: verdicts.filter((v) => v.healthy).length,
      functions: verdicts,
    })
  }
  return out
}

function table(rows: string[][]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((c, i) => Math.max(w[i] ?? 0, c.length)), [])
  return rows.map((row) => `  ${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ')}`.trimEnd())
}

/** The human-readable form: warnings, the functions, then each resource with a line per function. */
export function formatExplanation(e: Explanation, configFile: string): string {
  const lines = [`sriovdp explain: ${configFile}, ${e.resources.length} resource${e.resources.length === 1 ? '' : 's'}`]
  for (const w of e.warnings) lines.push(`warning: ${w}`)
  const row = (f: FunctionInfo) => [f.pci, f.id, f.driver ?? '(no driver)', f.netdevs.join(',') || '-', `${f.role}, NUMA ${f.numaNode}`]
  const aux = e.functions.filter((f) => f.parent)
  const pci = e.functions.filter((f) => !f.parent)
  lines.push('', `PCI network functions on this node (${pci.length}):`)
  lines.push(...table(pci.map(row)))
  if (aux.length) lines.push('', `Auxiliary network devices on this node (${aux.length}), with their PCI parent's vendor:device and driver:`, ...table(aux.map(row)))
  for (const r of e.resources) {
    lines.push('', `${r.resource}: ${r.offered} offered, ${r.healthy} healthy (kubelet allocatable ${r.healthy})`)
    lines.push(...table(r.functions.map((v) => [v.pci, v.offered && v.healthy ? 'offered' : v.offered ? v.reason!.text : `not offered: ${v.reason!.text}`])))
    if (r.functions.length === 0) lines.push(r.deviceType === 'auxNetDevice' ? '  no auxiliary network device (sub-function) on this node' : '  no PCI network function on this node')
  }
  return `${lines.join('\n')}\n`
}
