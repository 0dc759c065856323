// The NAD's logLevel and logFile, read as sriov-cni reads them: never an error. A level in any case; an
// unknown one is info, with a warning; a relative logFile is reported on stderr and logging goes to stderr.
import path = require('node:path')

export const LOG_LEVELS = ['panic', 'error', 'warning', 'info', 'debug'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface LogSettings {
  level: LogLevel
  file?: string
  warnings: string[] // logged once logging is set up
}

// cni-log (sriov-cni's logger) also knows "verbose", below debug
const ALIASES: Record<string, LogLevel> = { verbose: 'debug', warn: 'warning' }

export function logSettings(raw: Record<string, unknown>): LogSettings {
  const out: LogSettings = { level: 'info', warnings: [] }
  const level = raw.logLevel
  if (level !== undefined && level !== null && level !== '') {
    const name = typeof level === 'string' ? level.toLowerCase() : ''
    const known = (LOG_LEVELS as readonly string[]).includes(name) ? (name as LogLevel) : ALIASES[name]
    if (known) out.level = known
    else out.warnings.push(`logLevel ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}: logging at info`)
  }
  const file = raw.logFile
  if (typeof file === 'string' && file !== '') {
    if (path.isAbsolute(file)) out.file = file
    else out.warnings.push(`logFile ${JSON.stringify(file)} is not an absolute path: logging to stderr`)
  } else if (file !== undefined && file !== null && file !== '') {
    out.warnings.push(`logFile ${JSON.stringify(file)} is not a path: logging to stderr`)
  }
  return out
}
