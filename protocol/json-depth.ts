// How deeply a decoded JSON value nests. JSON.parse takes any depth, but JSON.stringify, structuredClone and
// every recursive walk overflow the stack somewhere past a few thousand levels: a config or a state file that
// nests deeper than anything real is refused where it is decoded, before it reaches them.

/** Deeper than any network config, result or state file has reason to be. */
export const MAX_JSON_DEPTH = 64

/** The first top-level key (or "" for the value itself) under which `value` nests deeper than `limit`, else undefined. */
export function tooDeep(value: unknown, limit = MAX_JSON_DEPTH): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  // iterative: a recursive walk is what overflows
  const stack: [unknown, number, string][] = [[value, 0, '']]
  while (stack.length) {
    const [v, depth, top] = stack.pop()!
    if (typeof v !== 'object' || v === null) continue
    if (depth >= limit) return top
    for (const [k, child] of Object.entries(v)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1, depth === 0 ? k : top])
  }
  return undefined
}
