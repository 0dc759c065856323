// VF index ranges of pfNames and rootDevices entries (`ens1f0#0-3,5`): kept as the intervals written, never
// expanded into indexes (`#0-3000000` once took 632 MB), and bounded: a PF has at most 65535 VFs (TotalVFs
// is a 16-bit field), so VF indexes run from 0 to 65534; an auxNetDevice resource's ranges are over
// sub-function numbers (sfnum), which are 32-bit.
import { ConfigError } from './config'

export const MAX_VF_INDEX = 65534
export const MAX_SF_NUMBER = 0xffffffff
const RANGE = `VF indexes run from 0 to ${MAX_VF_INDEX} (a PF has at most 65535 VFs), sub-function numbers from 0 to ${MAX_SF_NUMBER}`

/** Sorted, disjoint intervals of indexes. */
export class IndexRanges {
  constructor(readonly intervals: readonly (readonly [number, number])[]) {}

  has(i: number): boolean {
    let lo = 0
    let hi = this.intervals.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const [a, b] = this.intervals[mid]
      if (i < a) hi = mid - 1
      else if (i > b) lo = mid + 1
      else return true
    }
    return false
  }
}

export interface PfEntry {
  /** the entry as written (normalized), for messages and the explain view */
  written: string
  name: string
  /** undefined: every VF of the PF */
  indexes?: IndexRanges
}

/** `s` for an error message, cut short: an entry may be as long as the ConfigMap. */
const shown = (s: string) => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}...` : s)

function index(digits: string, entry: string, where: string): number {
  const n = Number(digits)
  if (digits.length > 10 || n > MAX_SF_NUMBER) throw new ConfigError(`${where}: index ${shown(digits)} in ${shown(entry)} is out of range: ${RANGE}`)
  return n
}

/**
 * `name#0-3,5` → its name and index intervals; no `#` means every VF (or SF). Indexes beyond 32 bits throw
 * ConfigError naming `where`; where the entry selects VFs, checkIndexes bounds them by MAX_VF_INDEX.
 */
export function parseIndexRanges(entry: string, where: string): PfEntry {
  const hash = entry.indexOf('#')
  if (hash < 0) return { written: entry, name: entry }
  const name = entry.slice(0, hash)
  const parts: [number, number][] = []
  for (const part of entry.slice(hash + 1).split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim())
    if (!m) throw new ConfigError(`${where}: invalid VF index range ${shown(part)} in ${shown(entry)}: use forms like ens1f0#0-3,5`)
    const lo = index(m[1], entry, where)
    const hi = m[2] === undefined ? lo : index(m[2], entry, where)
    if (hi < lo) throw new ConfigError(`${where}: range "${part}" in ${shown(entry)} ends before it starts`)
    parts.push([lo, hi])
  }
  parts.sort((x, y) => x[0] - y[0])
  const merged: [number, number][] = []
  for (const [lo, hi] of parts) {
    const last = merged.at(-1)
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi)
    else merged.push([lo, hi])
  }
  return { written: entry, name, indexes: new IndexRanges(merged) }
}

/** Throws ConfigError naming `where` when the entry selects an index above `max`. */
export function checkIndexes(e: PfEntry, where: string, max: number): void {
  const top = e.indexes?.intervals.at(-1)?.[1]
  if (top !== undefined && top > max) throw new ConfigError(`${where}: VF index ${top} in ${shown(e.written)} is out of range: ${RANGE}`)
}
