// Validates a CDI spec file against the CDI specification's JSON schema (test/fixtures/cdi-schema) with a
// third-party validator, Debian's python3-jsonschema, and against the rules CDI's own loader adds to it
// (names, kind, device edits), which a runtime applies before it injects anything.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT } from './plugin-exec'

const SCHEMA_DIR = path.join(ROOT, 'test', 'fixtures', 'cdi-schema')

const VALIDATE = `
import json, sys, pathlib, jsonschema
d = pathlib.Path(sys.argv[1])
schema = json.loads((d / 'schema.json').read_text())
defs = json.loads((d / 'defs.json').read_text())
resolver = jsonschema.RefResolver(base_uri=d.as_uri() + '/', referrer=schema, store={(d / 'defs.json').as_uri(): defs, 'defs.json': defs})
v = jsonschema.Draft7Validator(schema, resolver=resolver)
for e in v.iter_errors(json.loads(pathlib.Path(sys.argv[2]).read_text())):
    print('/'.join(str(p) for p in e.absolute_path) + ': ' + e.message)
`

const NAME = /^[a-zA-Z0-9]([a-zA-Z0-9_.:-]*[a-zA-Z0-9])?$/
const VENDOR = /^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$/
const CLASS = /^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$/

/** Every way the spec in `file` is invalid; none: valid. */
export function validateCdiSpec(file: string): string[] {
  // Debian's python and its python3-jsonschema (scripts/test.sh installs it), whatever python3 PATH finds
  const out = execFileSync('/usr/bin/python3', ['-W', 'ignore::DeprecationWarning', '-c', VALIDATE, SCHEMA_DIR, file], { encoding: 'utf8' })
  const errors = out.split('\n').filter(Boolean)
  const spec = JSON.parse(fs.readFileSync(file, 'utf8'))
  const [vendor, cls, ...rest] = String(spec.kind).split('/')
  if (rest.length || !VENDOR.test(vendor ?? '') || !CLASS.test(cls ?? '')) errors.push(`kind ${spec.kind}: not vendor/class`)
  if (!/^\d+\.\d+\.\d+$/.test(spec.cdiVersion)) errors.push(`cdiVersion ${spec.cdiVersion}`)
  const seen = new Set<string>()
  for (const d of spec.devices ?? []) {
    if (!NAME.test(d.name)) errors.push(`device ${d.name}: invalid name`)
    if (seen.has(d.name)) errors.push(`device ${d.name}: twice`)
    seen.add(d.name)
    const e = d.containerEdits ?? {}
    if (!['env', 'deviceNodes', 'hooks', 'mounts', 'netDevices'].some((k) => (e[k] ?? []).length)) errors.push(`device ${d.name}: no container edits (CDI refuses it)`)
    for (const n of e.deviceNodes ?? []) if (!path.isAbsolute(n.path)) errors.push(`device ${d.name}: device node path ${n.path} is not absolute`)
  }
  return errors
}
