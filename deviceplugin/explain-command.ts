// `sriovdp explain`: the answer to "allocatable shows 0" from the node itself, without the daemon running.
import { parseArgs } from 'node:util'
import { readDdpProfiles } from '../host/ddp'
import { readRegularFile } from '../host/open-regular'
import { listPciDevices } from '../host/pci'
import { CONFIG_FLAGS } from './cli'
import { ConfigError, parseConfig } from './config'
import { explain, formatExplanation } from './explain'
import { observeNode } from './node-view'
import { discoveryNeeds } from './selectors'

const USAGE = 'usage: sriovdp explain [--config-file /etc/pcidp/config.json] [--resource-prefix intel.com] [--json]'

/** Prints the explanation; the exit code: 0, 1 for a config that cannot be used, 2 for bad flags. */
export async function runExplain(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: { ...CONFIG_FLAGS, json: { type: 'boolean', default: false } },
      strict: true,
    }))
  } catch (e) {
    err.write(`sriovdp explain: ${(e as Error).message}\n${USAGE}\n`)
    return 2
  }
  const configFile = values['config-file']!
  const warnings: string[] = []
  let resources
  try {
    resources = parseConfig(readRegularFile(configFile), values['resource-prefix']!, warnings)
  } catch (e) {
    err.write(`sriovdp explain: ${e instanceof ConfigError ? '' : `cannot read ${configFile}: `}${(e as Error).message}\n`)
    return 1
  }
  // every optional read: the explanation shows the values a selector would see (DDP only when asked for: a
  // devlink request per function)
  const view = await observeNode(async () => {
    const devices = listPciDevices(undefined, { linkTypes: true, rdma: true, acpiIndexes: true, vdpa: true, auxiliary: true })
    const ddpFailure = discoveryNeeds(resources).ddp ? await readDdpProfiles(devices) : undefined
    if (ddpFailure) warnings.push(`ddpProfiles: DDP profiles cannot be read (${ddpFailure}); ddpProfiles selectors match nothing`)
    return devices
  })
  const e = explain(view, resources, warnings)
  out.write(values.json ? `${JSON.stringify({ config: configFile, ...e }, null, 2)}\n` : formatExplanation(e, configFile))
  return 0
}
