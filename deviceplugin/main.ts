// Entry of the `sriovdp` executable: flags, then the first PCI discovery on a worker thread, started before
// the daemon's heavy modules (gRPC, protobuf, pino, prom-client) load, so that both happen at once.
import fs from 'node:fs'
import { discoverInBackground } from '../host/discovery'
import type { PciDevice } from '../host/pci'
import { parseOptions, UsageError, type Options } from './cli'
import { parseConfig } from './config'
import { discoveryNeeds } from './selectors'

export async function main(argv = process.argv.slice(2)): Promise<void> {
  if (argv[0] === 'explain') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runExplain } = require('./explain-command') as typeof import('./explain-command')
    process.exit(await runExplain(argv.slice(1)))
  }
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
  const firstDiscovery = startDiscovery(opts)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runDaemon } = require('./daemon') as typeof import('./daemon')
  await runDaemon(opts, firstDiscovery)
}

/** The first pass, with what the config's selectors need; none for a config the daemon will reject anyway. */
function startDiscovery(opts: Options): Promise<PciDevice[]> | undefined {
  let resources
  try {
    resources = parseConfig(fs.readFileSync(opts.configFile, 'utf8'), opts.resourcePrefix)
  } catch {
    return undefined
  }
  return discoverInBackground(discoveryNeeds(resources))
}

if (require.main === module || (require('node:sea') as { isSea(): boolean }).isSea()) {
  main().catch((e) => {
    process.stderr.write(`sriovdp: ${(e as Error).stack ?? e}\n`)
    process.exit(1)
  })
}
