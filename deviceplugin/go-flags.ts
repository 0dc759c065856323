// Go's flag syntax on our command line, so that the Go plugin's invocations work unchanged: `-name` is
// `--name` (a single dash is only for one-letter flags here), and a boolean may be written `--name=<value>` with
// any value Go's strconv.ParseBool takes (1, t, TRUE, false, ...).

// what Go's strconv.ParseBool takes, and nothing else
const GO_TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True']
const GO_FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False']

/** `argv` rewritten for node's parseArgs; `booleans`: the long flags that take no value. */
export function goFlagArgs(argv: string[], booleans: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]
    if (a === '--') {
      out.push(...argv.slice(i))
      break
    }
    // -config-file=x, -v=10 (Go) → --config-file=x, --v=10; -v 10 stays a short flag with its value
    if (/^-[^-]/.test(a) && (a.includes('=') || a.length > 2)) a = `-${a}`
    const eq = a.indexOf('=')
    if (a.startsWith('--') && eq > 2 && booleans.includes(a.slice(2, eq))) {
      const value = a.slice(eq + 1)
      if (GO_TRUE.includes(value)) {
        out.push(a.slice(0, eq))
        continue
      }
      if (GO_FALSE.includes(value)) continue
      // anything else strconv.ParseBool refuses is left for the parser to refuse, as Go refuses it (exit 2)
    }
    out.push(a)
  }
  return out
}
