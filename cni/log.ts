// pino JSON logs to stderr or `logFile`, never stdout. pino costs ~27 ms to load, more than the plugin's own
// work, so it is loaded only when a line at or above the configured level is actually written.
import type { Logger } from 'pino'
import type { LogLevel } from './config'

const LEVELS: Record<LogLevel, number> = { panic: 60, error: 50, warning: 40, info: 30, debug: 20 }
const PINO_LEVEL: Record<LogLevel, string> = { panic: 'fatal', error: 'error', warning: 'warn', info: 'info', debug: 'debug' }

let threshold = LEVELS.info
let file: string | undefined
let logger: Logger | undefined
let bindings: Record<string, unknown> = {}

export function configureLog(level: LogLevel, logFile: string | undefined, context: Record<string, unknown>): void {
  threshold = LEVELS[level]
  file = logFile
  bindings = context
  logger = undefined
}

function get(): Logger {
  if (!logger) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pino = require('pino') as typeof import('pino')
    const dest = pino.destination({ dest: file ?? 2, sync: true, mkdir: true })
    logger = pino({ base: { plugin: 'sriov', pid: process.pid, ...bindings }, level: 'debug' }, dest)
  }
  return logger
}

export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (LEVELS[level] < threshold) return
  get()[PINO_LEVEL[level] as 'info'](fields, msg)
}
