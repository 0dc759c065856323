// pino JSON logs to stderr or `logFile`, never stdout. pino costs ~27 ms to load, more than the plugin's own
// work, so it is loaded only when a line at or above the configured level is actually written.
import type { Logger } from 'pino'
import type { LogLevel } from './log-settings'
import { makeDirs } from '../host/make-dirs'
import { openRegular } from '../host/open-regular'

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
    const dest = pino.destination({ dest: file ? openLogFile(file) : 2, sync: true })
    logger = pino({ base: { plugin: 'sriov', pid: process.pid, ...bindings }, level: 'debug' }, dest)
  }
  return logger
}

export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (LEVELS[level] < threshold) return
  try {
    get()[PINO_LEVEL[level] as 'info'](fields, msg)
  } catch (e) {
    // a log that cannot be written (a directory, a full disk) never fails a call: stderr takes it from here
    const failed = file
    file = undefined
    logger = undefined
    try {
      if (failed) get().warn({ logFile: failed, err: (e as Error).message }, 'logFile cannot be written; logging to stderr')
      get()[PINO_LEVEL[level] as 'info'](fields, msg)
    } catch {
      // stderr closed by the runtime: the line is lost, the call goes on
    }
  }
}

/** The log file, created owner-only whatever the umask; an existing file keeps the mode its admin gave it. */
function openLogFile(file: string): number {
  const fs = require('node:fs') as typeof import('node:fs')
  makeDirs(require('node:path').dirname(file), 0o755)
  const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW
  try {
    const fd = fs.openSync(file, flags | fs.constants.O_EXCL, 0o600)
    fs.fchmodSync(fd, 0o600)
    return fd
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    // a FIFO there would block the call until a reader came: refused, the log goes to stderr
    return openRegular(file, flags).fd
  }
}
