// Object keys matched to fields as Go's encoding/json matches them: an exact match or a case-insensitive one
// (Unicode simple folding, under which only the long s and the Kelvin sign fold onto ASCII letters), the last
// key for a field winning, null leaving the field unset, and keys that match no field reported, not refused.

/** A key as Go compares it with a field name. */
function fold(key: string): string {
  return key.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase()
}

export interface MatchedKeys<F extends string> {
  values: Partial<Record<F, unknown>>
  /** fields some key named, null included */
  named: Set<F>
  unknown: string[]
}

/** Sorts `o`'s keys into `fields` (under their canonical names) and unknown keys, in the object's order. */
export function matchKeys<F extends string>(o: Record<string, unknown>, fields: readonly F[]): MatchedKeys<F> {
  const byFold = new Map(fields.map((f) => [fold(f), f]))
  const out: MatchedKeys<F> = { values: {}, named: new Set(), unknown: [] }
  for (const [key, value] of Object.entries(o)) {
    const field = byFold.get(fold(key))
    if (field === undefined) out.unknown.push(key)
    else {
      out.named.add(field)
      if (value !== null) out.values[field] = value
    }
  }
  return out
}
