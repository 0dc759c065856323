// The hand-written shape checks against the regular expressions they replace, on fixed edge cases and on
// random strings drawn from the characters that matter (fixed seed: a failure is reproducible).
import t, { type Test } from 'tap'
import { goTrimSpace, hasShape, isDecimal, isHexOctets, isSpecIdentifier, numberAfter } from '../../protocol/text-shape'
import { parseIP } from '../../protocol/ip'
import { isPciAddress } from '../../state/parse-record'

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/
const v4Value = (s: string) => {
  const m = V4.exec(s)
  return m ? BigInt(((Number(m[1]) << 24) >>> 0) + (Number(m[2]) << 16) + (Number(m[3]) << 8) + Number(m[4])) : undefined
}

let seed = 0x2545f491
const random = () => ((seed = (Math.imul(seed ^ (seed >>> 13), 0x5bd1e995) + 0x9e3779b9) >>> 0) / 2 ** 32)
const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]

/** `n` strings of 0 to `maxLen` pieces drawn from `pieces`. */
function randomStrings(pieces: string[], n: number, maxLen: number): string[] {
  const out: string[] = []
  for (let k = 0; k < n; k++) {
    let s = ''
    for (let len = Math.floor(random() * (maxLen + 1)); len > 0; len--) s += pick(pieces)
    out.push(s)
  }
  return out
}

/** `n` strings made from `valid` ones by 0 to 2 random edits (a character replaced, dropped or added). */
function mutants(valid: string[], chars: string, n: number): string[] {
  const out: string[] = []
  for (let k = 0; k < n; k++) {
    let s = pick(valid)
    for (let edits = Math.floor(random() * 3); edits > 0; edits--) {
      const at = Math.floor(random() * (s.length + 1))
      const c = pick([...chars])
      s = pick([() => s.slice(0, at) + c + s.slice(at + 1), () => s.slice(0, at) + s.slice(at + 1), () => s.slice(0, at) + c + s.slice(at)])()
    }
    out.push(s)
  }
  return out
}

/** Counts the strings where `got` and `want` differ, naming the first few; the inputs must hold both kinds. */
function agree<T>(t: Test, name: string, inputs: string[], got: (s: string) => T, want: (s: string) => T): void {
  const differ = inputs.filter((s) => got(s) !== want(s))
  t.same(differ.slice(0, 5), [], `${name}: ${inputs.length} inputs, ${differ.length} differ`)
  const accepted = inputs.filter((s) => want(s) !== undefined && want(s) !== false).length
  t.ok(accepted >= 5 && inputs.length - accepted >= 5, `${name}: ${accepted} of the inputs are accepted, the rest refused`)
}

t.test('IPv4 addresses: exactly the dotted quads the regular expression took, with the same value', async (t) => {
  const fixed = ['0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.', '.1.2.3', '01.2.3.4', '1.2.3.04', '1234.1.1.1', '1.2.3.4 ', '10.60.0.1', '1.2.3.٣']
  const octet = ['0', '1', '9', '10', '99', '100', '199', '200', '249', '250', '255', '256', '300', '1000', '00', '01', '', 'a', ' 1', '+1']
  const quads = randomStrings(octet.map((o) => `${o}.`), 40000, 5).map((s) => s.slice(0, -1))
  const inputs = [...fixed, ...quads, ...randomStrings(['0', '1', '2', '5', '9', '.', '25', '255', '256', '00', '01', 'a', ' ', '-', '+', 'e'], 20000, 9)]
  agree(t, 'v4', inputs, (s) => { const ip = parseIP(s); return ip?.family === 4 ? ip.value : undefined }, v4Value)
})

t.test('PCI addresses, MACs and boot IDs: the same answers as the patterns they replace', async (t) => {
  const hex = ['0', '7', '8', '9', 'a', 'f', 'A', 'F', 'g', 'G', ':', '.', '-', ' ', '00', '0000']
  const pci = /^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$/
  const hexChars = '0789afAFgG:.- '
  agree(t, 'pci', ['0000:01:10.0', '0000:01:10.7', '0000:01:10.8', 'ABCD:ef:0A.3', '0000:01:10', '0000:01:10.00', ...mutants(['0000:01:10.0', 'abcd:EF:1f.7'], hexChars, 20000), ...randomStrings(['0000:', '01:', '1f', '.', '.7', '.8', ...hex], 20000, 6)], isPciAddress, (s) => pci.test(s))
  const mac = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5,19}$/
  const octets = (n: number) => Array(n).fill('0a').join(':')
  agree(t, 'record mac', [octets(5), octets(6), octets(20), octets(21), `${octets(6)}:`, ...mutants([octets(6), octets(7), octets(19), octets(20), '02:00:AB:cd:Ef:01'], hexChars, 20000), ...randomStrings(['0a', ':0a', ':', 'Fg', 'FF', '0', ...hex], 20000, 14)], (s) => isHexOctets(s, ':', 6, 20), (s) => mac.test(s))
  const boot = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
  agree(t, 'boot id', ['6a1c7f9e-1f1e-4a39-9a8e-4b3b9fbd3f7e', '6A1C7F9E-1F1E-4A39-9A8E-4B3B9FBD3F7E', '6a1c7f9e-1f1e-4a39-9a8e-4b3b9fbd3f7', ...mutants(['6a1c7f9e-1f1e-4a39-9a8e-4b3b9fbd3f7e', '6A1C7F9E-1F1E-4A39-9A8E-4B3B9FBD3F7E'], hexChars, 20000)], (s) => hasShape(s, 'hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh'), (s) => boot.test(s))
})

t.test('identifiers, decimal numbers and virtfn indexes', async (t) => {
  const id = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
  agree(t, 'identifier', ['', 'a', '_a', '.a', '-a', 'a_b.c-d', 'é', 'a b', 'A9', ...randomStrings(['a', 'Z', '0', '9', '_', '.', '-', ' ', '/', ':', 'é', '`', '[', '@'], 40000, 6)], isSpecIdentifier, (s) => id.test(s))
  const prefix = /^\d{1,3}$/
  agree(t, 'prefix', ['', '0', '32', '128', '1280', '-1', '+1', '1e1', ' 1', '٣', ...mutants(['0', '24', '128'], '0159a-+. ٣', 5000)], (s) => isDecimal(s, 1, 3), (s) => prefix.test(s))
  const virtfn = /^virtfn(\d+)$/
  agree(t, 'virtfn', ['virtfn0', 'virtfn12', 'virtfn007', 'virtfn', 'virtfn-1', 'virtfn1a', 'xvirtfn1', 'virtfn 1', ...randomStrings(['virtfn', '0', '9', 'a', ' ', '-'], 20000, 4)], (s) => numberAfter(s, 'virtfn'), (s) => { const m = virtfn.exec(s); return m ? Number(m[1]) : undefined })
})

t.test("goTrimSpace trims what Go's strings.TrimSpace trims: NEL and NBSP yes, BOM and zero-width space no", async (t) => {
  t.equal(goTrimSpace(' \t\n\v\f\r\u0085\u00a0id\r\neth0\u2028\u3000 '), 'id\r\neth0')
  t.equal(goTrimSpace('\ufeffid\u200b'), '\ufeffid\u200b')
  t.equal(goTrimSpace(''), '')
  t.equal(goTrimSpace(' \u0085 '), '')
})
