// Go's flag syntax on our command line, so that the Go plugin's invocations work unchanged: `-name` is
// `--name` (a single dash is only for one-letter flags here), and a boolean may be written `--name=true|false`.

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
    const m = /^--([^=]+)=(true|false)$/i.exec(a)
    if (m && booleans.includes(m[1])) {
      if (m[2].toLowerCase() === 'true') out.push(`--${m[1]}`)
      continue
    }
    out.push(a)
  }
  return out
}
