// GetPreferredAllocation: the must-include devices first, then devices on one NUMA node, then either packed
// onto as few PFs as possible (leaving whole PFs free) or spread across PFs.
import type { PciDevice } from '../host/pci'

export type AllocationPolicy = 'pack' | 'spread'

export function preferredAllocation(available: PciDevice[], mustInclude: string[], size: number, policy: AllocationPolicy): string[] {
  const chosen: PciDevice[] = available.filter((d) => mustInclude.includes(d.pci))
  let rest = available.filter((d) => !mustInclude.includes(d.pci))
  const need = () => size - chosen.length
  if (need() <= 0) return chosen.slice(0, Math.max(size, chosen.length)).map((d) => d.pci)

  // NUMA: the node of the must-include devices, else the node with the most devices available
  const count = (xs: PciDevice[], key: (d: PciDevice) => string) => xs.reduce((m, d) => m.set(key(d), (m.get(key(d)) ?? 0) + 1), new Map<string, number>())
  const numa = (d: PciDevice) => String(d.numaNode)
  const byNuma = count(rest, numa)
  const wantNuma = chosen[0] ? numa(chosen[0]) : [...byNuma.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0]
  const onNode = rest.filter((d) => numa(d) === wantNuma)
  if (onNode.length >= need()) rest = onNode
  else rest = [...onNode, ...rest.filter((d) => numa(d) !== wantNuma)]

  const pf = (d: PciDevice) => d.pfPci ?? d.pci
  const byPf = new Map<string, PciDevice[]>()
  for (const d of rest) byPf.set(pf(d), [...(byPf.get(pf(d)) ?? []), d])
  const chosenPfs = new Set(chosen.map(pf))
  let groups = [...byPf.entries()]
  if (policy === 'pack') {
    // PFs already in use first, then the PF with the fewest free VFs that still takes the whole request (best fit)
    groups.sort((a, b) => Number(chosenPfs.has(b[0])) - Number(chosenPfs.has(a[0])) || Number(b[1].length >= need()) - Number(a[1].length >= need()) || a[1].length - b[1].length || a[0].localeCompare(b[0]))
    for (const [, ds] of groups) for (const d of ds) if (need() > 0) chosen.push(d)
  } else {
    groups = groups.sort((a, b) => a[0].localeCompare(b[0]))
    for (let i = 0; need() > 0 && groups.some(([, ds]) => ds.length > i); i++) {
      for (const [, ds] of groups) if (need() > 0 && ds[i]) chosen.push(ds[i])
    }
  }
  return chosen.map((d) => d.pci)
}
