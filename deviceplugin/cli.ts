// sriovdp's command line: sriov-network-device-plugin's flags, plus ours for the new behaviour.
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import { DEFAULT_DEVINFO_DIR } from './allocation'
import { parseListenAddress } from './listen-address'
import { socketDirProblem } from './plugin-socket'
import type { AllocationPolicy } from './preferred'

export interface Options {
  configFile: string
  resourcePrefix: string
  logLevel: string
  devicePluginPath: string
  pluginsRegistryPath: string
  registration: 'classic' | 'watcher'
  httpAddr?: { host: string; port: number }
  cniBinDir: string
  allocationPolicy: AllocationPolicy
  rescanSeconds: number
  reconcileGraceSeconds: number
  devinfoDir: string
  stateDir?: string
}

export const DEFAULT_HTTP_PORT = 10298

export class UsageError extends Error {}

/** The flags that say which config to read, shared by the daemon and `sriovdp explain`. */
export const CONFIG_FLAGS = {
  'config-file': { type: 'string', default: '/etc/pcidp/config.json' },
  'resource-prefix': { type: 'string', default: 'intel.com' },
} as const

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): Options {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        ...CONFIG_FLAGS,
        'log-level': { type: 'string', default: 'info' },
        'log-dir': { type: 'string' }, // accepted for compatibility: logs go to stderr
        v: { type: 'string' },
        'device-plugin-path': { type: 'string', default: '/var/lib/kubelet/device-plugins/' },
        'plugins-registry-path': { type: 'string', default: '/var/lib/kubelet/plugins_registry/' },
        registration: { type: 'string', default: 'auto' },
        // 10298: no common node agent's port (CSI livenessprobe has 9808), outside Prometheus' exporter range
        'http-addr': { type: 'string', default: `:${DEFAULT_HTTP_PORT}` },
        'cni-bin-dir': { type: 'string', default: '/opt/cni/bin' },
        'allocation-policy': { type: 'string', default: 'pack' },
        'rescan-interval': { type: 'string', default: '30' },
        'reconcile-grace': { type: 'string', default: '60' },
      },
      strict: true,
    }))
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
  const reg = values.registration
  if (reg !== 'auto' && reg !== 'classic' && reg !== 'watcher') throw new UsageError(`--registration: ${reg} must be auto, classic or watcher`)
  const policy = values['allocation-policy']
  if (policy !== 'pack' && policy !== 'spread') throw new UsageError(`--allocation-policy: ${policy} must be pack or spread`)
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace']
  if (!levels.includes(values['log-level']!)) throw new UsageError(`--log-level: ${values['log-level']} must be one of ${levels.join(', ')}`)
  const seconds = (name: 'rescan-interval' | 'reconcile-grace') => {
    const n = Number(values[name])
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name}: ${values[name]} must be a positive number of seconds`)
    return n
  }
  let httpAddr: Options['httpAddr']
  if (values['http-addr']) {
    const addr = parseListenAddress(values['http-addr'])
    if (typeof addr === 'string') throw new UsageError(`--http-addr: ${JSON.stringify(values['http-addr'])} ${addr} (empty to disable)`)
    httpAddr = addr
  }
  const opts: Options = {
    configFile: values['config-file']!,
    resourcePrefix: values['resource-prefix']!,
    logLevel: values['log-level']!,
    devicePluginPath: values['device-plugin-path']!,
    pluginsRegistryPath: values['plugins-registry-path']!,
    // auto: watcher mode when kubelet's plugin registry exists, as the Go plugin chooses
    registration: reg === 'auto' ? (fs.existsSync(values['plugins-registry-path']!) ? 'watcher' : 'classic') : reg,
    cniBinDir: values['cni-bin-dir']!,
    allocationPolicy: policy,
    rescanSeconds: seconds('rescan-interval'),
    reconcileGraceSeconds: seconds('reconcile-grace'),
    devinfoDir: env.SRIOV_DEVINFO_DIR || DEFAULT_DEVINFO_DIR,
  }
  for (const [flag, dir] of [['device-plugin-path', opts.devicePluginPath], ...(opts.registration === 'watcher' ? [['plugins-registry-path', opts.pluginsRegistryPath]] : [])]) {
    const problem = socketDirProblem(dir)
    if (problem) throw new UsageError(`--${flag}: ${problem}`)
  }
  if (httpAddr) opts.httpAddr = httpAddr
  if (env.SRIOV_STATE_DIR) opts.stateDir = env.SRIOV_STATE_DIR
  return opts
}
