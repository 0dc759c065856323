// Entry of the `sriovdp` executable: flags, config, serving, and a clean exit on SIGTERM/SIGINT.
import fs from 'node:fs'
import path from 'node:path'
import pino from 'pino'
import { StateStore } from '../ipam/state-store'
import { parseOptions, UsageError } from './cli'
import { ConfigError } from './config'
import { startHttp } from './http'
import { Metrics } from './metrics'
import { DevicePlugin } from './plugin'
import { Reconciler } from './reconciler'

export async function main(argv = process.argv.slice(2)): Promise<void> {
  let opts
  try {
    opts = parseOptions(argv)
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`sriovdp: ${e.message}\n`)
      process.exit(2)
    }
    throw e
  }
  const log = pino({ base: { app: 'sriovdp' }, level: opts.logLevel }, pino.destination(2))
  const metrics = new Metrics()
  const plugin = new DevicePlugin(opts, log, metrics)
  try {
    await plugin.start()
  } catch (e) {
    if (e instanceof ConfigError) {
      log.fatal({ err: e.message }, 'invalid config')
      process.stderr.write(`sriovdp: ${e.message}\n`)
      process.exit(1)
    }
    throw e
  }
  log.info({ registration: opts.registration, resources: [...plugin.servers.keys()] }, 'sriovdp started')
  const store = new StateStore(opts.stateDir ? { root: opts.stateDir } : {})
  const http = opts.httpAddr ? await startHttp(opts.httpAddr.host, opts.httpAddr.port, plugin, metrics, store) : undefined
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

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir)
  } catch {
    return []
  }
}

if (require.main === module || (require('node:sea') as { isSea(): boolean }).isSea()) {
  main().catch((e) => {
    process.stderr.write(`sriovdp: ${(e as Error).stack ?? e}\n`)
    process.exit(1)
  })
}
