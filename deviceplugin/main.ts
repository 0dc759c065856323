// Entry of the `sriovdp` executable: flags, then the first PCI discovery on a worker thread, started before
// the daemon's heavy modules (gRPC, protobuf, pino, prom-client) load, so that both happen at once.
import { HelpRequested, parseOptions, USAGE, UsageError } from './cli'
import { startDiscovery } from './startup'

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
    if (e instanceof HelpRequested) {
      process.stderr.write(`${USAGE}\n`)
      process.exit(0)
    }
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

if (require.main === module || (require('node:sea') as { isSea(): boolean }).isSea()) {
  main().catch((e) => {
    process.stderr.write(`sriovdp: ${(e as Error).stack ?? e}\n`)
    process.exit(1)
  })
}
