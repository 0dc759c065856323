// Fixed shapes of short ASCII values (PCI addresses, MACs, boot IDs, container IDs, numbers), checked a
// character at a time: V8 compiles a regular expression on its first two runs (~30-50 us each, ~0.3 ms for
// an IPv4 address), and every CNI call checks a dozen of them once or twice.

const isDecimalCode = (c: number): boolean => c >= 48 && c <= 57
const isHexCode = (c: number): boolean => isDecimalCode(c) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
const isAlnumCode = (c: number): boolean => isDecimalCode(c) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90)

/** `s` is `min` to `max` decimal digits and nothing else. */
export function isDecimal(s: string, min = 1, max = Infinity): boolean {
  if (s.length < min || s.length > max) return false
  for (let i = 0; i < s.length; i++) if (!isDecimalCode(s.charCodeAt(i))) return false
  return true
}

/**
 * `s` laid out exactly as `shape`, where `h` stands for a hex digit of either case, `o` for an octal digit and
 * any other character for itself: `hhhh:hh:hh.o` is a PCI address.
 */
export function hasShape(s: string, shape: string): boolean {
  if (s.length !== shape.length) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    const want = shape.charCodeAt(i)
    const ok = want === 104 ? isHexCode(c) : want === 111 ? c >= 48 && c <= 55 : c === want // 'h', 'o'
    if (!ok) return false
  }
  return true
}

/** `min` to `max` hex octets joined by `sep`: `02:00:00:00:00:01` is six octets joined by ':'. */
export function isHexOctets(s: string, sep: string, min: number, max: number): boolean {
  const octets = (s.length + 1) / 3
  return Number.isInteger(octets) && octets >= min && octets <= max && hasShape(s, `hh${`${sep}hh`.repeat(octets - 1)}`)
}

/** A letter or digit, then letters, digits, `_`, `.` and `-`: the CNI spec's container ID and network name. */
export function isSpecIdentifier(s: string): boolean {
  if (s.length === 0 || !isAlnumCode(s.charCodeAt(0))) return false
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (!isAlnumCode(c) && c !== 95 && c !== 46 && c !== 45) return false // '_', '.', '-'
  }
  return true
}

/** The number after `prefix` in a name such as `virtfn12`; undefined when the rest is not all digits. */
export function numberAfter(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined
  const rest = name.slice(prefix.length)
  return isDecimal(rest) ? Number(rest) : undefined
}

// unicode.IsSpace, which Go's strings.TrimSpace trims: JavaScript's trim() also takes U+FEFF and leaves U+0085
const GO_SPACE = new Set([0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000])

/** `s` without the white space Go's strings.TrimSpace removes from both ends (files the reference host-local reads). */
export function goTrimSpace(s: string): string {
  let start = 0
  let end = s.length
  while (start < end && GO_SPACE.has(s.charCodeAt(start))) start++
  while (end > start && GO_SPACE.has(s.charCodeAt(end - 1))) end--
  return s.slice(start, end)
}
