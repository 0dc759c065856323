// The running daemon: logger, metrics, the plugin itself, HTTP, the reconciler, and a clean exit on
// SIGTERM/SIGINT. Loaded by main.ts after it has started the first discovery.
import fs = require('node:fs')
import path = require('node:path')
import pino from 'pino'
import type { PciDevice } from '../host/pci'
import { StateStore } from '../state/store'
import type { Options } from './cli'
import { ConfigError } from './config'
import { keepHeapSmall } from './heap'
import { startHttp } from './http'
import { Metrics } from './metrics'
import { DevicePlugin } from './plugin'
import { Reconciler } from './reconciler'
import { loadMetricsLater } from './startup'

export async function runDaemon(opts: Options, firstDiscovery?: Promise<PciDevice[]>): Promise<void> {
  const log = pino({ base: { app: 'sriovdp' }, level: opts.logLevel }, logDestination(opts))
  const metrics = new Metrics()
  const plugin = new DevicePlugin(opts, log, metrics)
  try {
    await plugin.start(firstDiscovery)
  } catch (e) {
    if (e instanceof ConfigError) {
      log.fatal({ err: e.message }, 'invalid config')
      process.stderr.write(`sriovdp: ${e.message}\n`)
      process.exit(1)
    }
    throw e
  }
  keepHeapSmall() // after the first discovery, whose worker thread would reset V8's flags
  loadMetricsLater(metrics, log)
  if (opts.ignoredArgs.length) log.warn({ args: opts.ignoredArgs }, 'ignored: the first argument that is no flag and everything after it, as the Go plugin ignores them')
  if (opts.ignoredGlogFlags.length) log.warn({ flags: opts.ignoredGlogFlags }, 'glog flags with no effect here (glog tunes its own files and filters); ignored')
  log.info({ registration: opts.registration, resources: [...plugin.servers.keys()], msSinceStart: plugin.startup }, 'sriovdp started')
  const store = new StateStore({ root: opts.stateDir })
  const http = opts.httpAddr ? startHttp(opts.httpAddr.host, opts.httpAddr.port, plugin, metrics, store, log) : undefined
  const reconciler = new Reconciler(store, opts.cniBinDir, opts.reconcileGraceSeconds * 1000, log, metrics)
  const repairs = setInterval(() => void reconciler.run().catch((e) => log.error({ err: e.message }, 'reconciler failed')), Math.min(opts.reconcileGraceSeconds, 30) * 1000)

  const shutdown = async (signal: string) => {
    log.info({ signal }, 'stopping')
    clearInterval(repairs)
    http?.close()
    const resources = plugin.resources
    await plugin.stop()
    for (const f of safeList(opts.devinfoDir)) {
      if (resources.some((r) => f.startsWith(`${r.resourcePrefix}-${r.resourceName}-`) && f.endsWith('-device.json'))) fs.rmSync(path.join(opts.devinfoDir, f), { force: true })
    }
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGHUP', () => plugin.schedule('SIGHUP'))
}

/** stderr, and with glog's --log_dir also <dir>/sriovdp.log (as the Go image's --log-dir gives files and stderr). */
function logDestination(opts: Options): pino.DestinationStream {
  const stderr = pino.destination(2)
  if (!opts.logDir) return stderr
  const dest = path.join(opts.logDir, 'sriovdp.log')
  let fd: number
  try {
    // opened here, in a directory that exists as glog wants it: pino's own opening retries one it cannot make
    // forever, without a word
    fd = fs.openSync(dest, 'a', 0o644)
  } catch (e) {
    process.stderr.write(`sriovdp: --log_dir: cannot write ${dest}: ${(e as Error).message}\n`)
    process.exit(1)
  }
  const file = pino.destination({ fd, sync: true })
  return pino.multistream([{ level: opts.logLevel as pino.Level, stream: stderr }, { level: opts.logLevel as pino.Level, stream: file }])
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir)
  } catch {
    return []
  }
}
