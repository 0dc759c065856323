// The network configuration on stdin: decoded once, with the fields every plugin shares typed.
import { CniError, ErrorCode } from './errors'
import { MAX_JSON_DEPTH, tooDeep } from './json-depth'
import { validateNetworkName } from './names'
import { fromVersion, type Result } from './result'
import { compareVersions, isSupportedVersion, SUPPORTED_VERSIONS } from './version'

export interface NetConf {
  cniVersion: string
  name: string
  type: string
  ipam?: { type?: string; [k: string]: unknown }
  prevResult?: Result
  runtimeConfig?: Record<string, unknown>
  args?: Record<string, unknown>
  raw: Record<string, unknown>
}

/** Decodes stdin (code 6), checks the version (code 1) and the shared fields (code 7). */
export function decodeJsonObject(stdin: Buffer | string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(stdin.toString())
  } catch (e) {
    throw new CniError(ErrorCode.DecodeFailure, `cannot decode ${what}: ${(e as Error).message}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CniError(ErrorCode.DecodeFailure, `cannot decode ${what}: expected a JSON object`)
  }
  const deep = tooDeep(value)
  if (deep !== undefined) throw new CniError(ErrorCode.DecodeFailure, `cannot decode ${what}: "${deep}" nests more than ${MAX_JSON_DEPTH} levels deep`)
  return value as Record<string, unknown>
}

export function parseNetConf(stdin: Buffer | string): NetConf {
  const raw = decodeJsonObject(stdin, 'network config from stdin')
  const version = raw.cniVersion === undefined || raw.cniVersion === '' ? '0.1.0' : raw.cniVersion
  try {
    return parseFields(raw)
  } catch (e) {
    // the error answers in the config's own version, once that version is one we speak
    if (typeof version === 'string' && isSupportedVersion(version)) Object.assign(e as object, { cniVersion: version })
    throw e
  }
}

function parseFields(raw: Record<string, unknown>): NetConf {
  const cniVersion = raw.cniVersion === undefined || raw.cniVersion === '' ? '0.1.0' : raw.cniVersion
  if (typeof cniVersion !== 'string' || !isSupportedVersion(cniVersion)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `unsupported cniVersion ${JSON.stringify(cniVersion)}: supported versions are ${SUPPORTED_VERSIONS.join(', ')}`,
    )
  }
  validateNetworkName(raw.name)
  if (typeof raw.type !== 'string' || raw.type === '') {
    throw new CniError(ErrorCode.InvalidConfig, 'missing plugin type: set "type" in the network config')
  }
  const conf: NetConf = { cniVersion, name: raw.name, type: raw.type, raw }
  if (raw.ipam !== undefined) {
    if (typeof raw.ipam !== 'object' || raw.ipam === null || Array.isArray(raw.ipam)) {
      throw new CniError(ErrorCode.InvalidConfig, 'invalid "ipam": expected an object')
    }
    conf.ipam = raw.ipam as NetConf['ipam']
  }
  for (const key of ['runtimeConfig', 'args'] as const) {
    const v = raw[key]
    if (v === undefined || v === null) continue
    if (typeof v !== 'object' || Array.isArray(v)) throw new CniError(ErrorCode.InvalidConfig, `invalid "${key}": expected an object`)
    conf[key] = v as Record<string, unknown>
  }
  if (raw.prevResult !== undefined && raw.prevResult !== null) {
    // a prevResult is part of the network config: whatever is wrong with it is an invalid config (code 7)
    try {
      conf.prevResult = fromVersion(raw.prevResult, cniVersion)
    } catch (e) {
      if (e instanceof CniError) throw new CniError(ErrorCode.InvalidConfig, e.message.replace(/^invalid result/, 'invalid prevResult'))
      throw e
    }
    const old = raw.prevResult as Record<string, unknown>
    if (compareVersions(cniVersion, '0.3.0') >= 0 && (old.ip4 !== undefined || old.ip6 !== undefined) && old.ips === undefined && old.interfaces === undefined) {
      throw new CniError(ErrorCode.InvalidConfig, `invalid prevResult: it has the ip4/ip6 form of versions before 0.3.0, but cniVersion is ${cniVersion}`)
    }
  }
  return conf
}
