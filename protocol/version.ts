// Spec versions this plugin speaks and which verbs each allows.
import { CniError, ErrorCode } from './errors'
import type { Command } from './env'

export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const
export const LATEST_VERSION = '1.1.0'

export function isSupportedVersion(v: string): boolean {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v)
}

/** Orders two supported version strings (exact strings only, as the spec requires). */
export function compareVersions(a: string, b: string): number {
  return SUPPORTED_VERSIONS.indexOf(a as never) - SUPPORTED_VERSIONS.indexOf(b as never)
}

/** CHECK arrived in 0.4.0, GC and STATUS in 1.1.0: older configs get error 1. */
export function checkVersionFor(command: Command, version: string): void {
  if (!isSupportedVersion(version)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `unsupported cniVersion ${JSON.stringify(version)}: supported versions are ${SUPPORTED_VERSIONS.join(', ')}`,
    )
  }
  const minimum = command === 'CHECK' ? '0.4.0' : command === 'GC' || command === 'STATUS' ? '1.1.0' : undefined
  if (minimum && compareVersions(version, minimum) < 0) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `config version ${version} does not allow ${command}: set cniVersion to ${minimum} or later`,
    )
  }
}
