// What the single executable's loader (scripts/sea-loader.cjs) did with the build's V8 code cache, for the
// debug log: a cache V8 refuses (other flags, another V8) would otherwise go unnoticed, each call compiling.

/** `used (ADD's)` (the verb's own cache), `used`, `rejected` or `none (not the single executable)`. */
export function codeCacheUse(): string {
  return String((globalThis as Record<symbol, unknown>)[Symbol.for('sriov-ts.codeCache')] ?? 'none (not the single executable)')
}
