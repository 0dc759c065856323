// sriovdp's command line: sriov-network-device-plugin's flags (glog's logging flags included, in Go's flag
// syntax), plus ours for the new behaviour.
import fs = require('node:fs')
import { parseArgs } from 'node:util'
import { seams, type Seams } from '../host/seams'
import { DEFAULT_CDI_DIR } from './cdi'
import { goFlagArgs } from './go-flags'
import { parseListenAddress } from './listen-address'
import { socketDirProblem } from './plugin-socket'
import type { AllocationPolicy } from './preferred'

export interface Options {
  configFile: string
  resourcePrefix: string
  logLevel: string
  /** glog's --log_dir: the log also goes to <dir>/sriovdp.log */
  logDir?: string
  /** --use-cdi: CDI spec files go here and Allocate answers with CDI names */
  cdiSpecDir?: string
  devicePluginPath: string
  pluginsRegistryPath: string
  registration: 'classic' | 'watcher'
  httpAddr?: { host: string; port: number }
  cniBinDir: string
  allocationPolicy: AllocationPolicy
  rescanSeconds: number
  reconcileGraceSeconds: number
  devinfoDir: string
  stateDir: string
  /** glog flags the Go plugin takes that change nothing here, as given: the daemon logs them once */
  ignoredGlogFlags: string[]
  /** the first argument that is no flag and all after it: Go's flag parsing stops there, and so does ours */
  ignoredArgs: string[]
}

export const DEFAULT_HTTP_PORT = 10298

export class UsageError extends Error {}

/** -h, -help (either dash form) before the flags end: Go's flag package prints the usage and exits 0. */
export class HelpRequested extends Error {}

/** The flags that say which config to read, shared by the daemon and `sriovdp explain`. */
export const CONFIG_FLAGS = {
  'config-file': { type: 'string', default: '/etc/pcidp/config.json' },
  'resource-prefix': { type: 'string', default: 'intel.com' },
} as const

const BOOLEAN_FLAGS = ['use-cdi', 'logtostderr', 'alsologtostderr']
// the rest of glog's flags (github.com/golang/glog, which the Go plugin parses with its own): taken, so that
// a DaemonSet's args work unchanged, and ignored, as they tune glog's own files and filters
const IGNORED_GLOG_FLAGS = ['stderrthreshold', 'vmodule', 'log_backtrace_at', 'log_link', 'logbuflevel'] as const
const PINO_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace']

/**
 * A pino level, or a glog verbosity (the Go plugin's `-v N`, the Go image's `--log-level=N`): glog's V(0)-V(2)
 * are steady-state messages, V(3)-V(4) debugging, V(5) and up tracing.
 */
function logLevelOf(value: string, flag: string): string {
  if (PINO_LEVELS.includes(value)) return value
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag}: ${JSON.stringify(value)} must be a glog verbosity (0, 1, ... 10) or one of ${PINO_LEVELS.join(', ')}`)
  const v = Number(value)
  return v <= 2 ? 'info' : v <= 4 ? 'debug' : 'trace'
}

/** Every flag sriovdp takes, in node:util's terms (Go's single-dash forms are rewritten first: go-flags.ts). */
const OPTIONS = {
  ...CONFIG_FLAGS,
  'log-level': { type: 'string' }, // a pino level, or a glog verbosity as the Go image's --log-level
  v: { type: 'string', short: 'v' }, // glog's verbosity (-v 10 from the Go image's entrypoint)
  logtostderr: { type: 'boolean' },
  alsologtostderr: { type: 'boolean' },
  log_dir: { type: 'string' },
  ...Object.fromEntries(IGNORED_GLOG_FLAGS.map((f) => [f, { type: 'string' as const }])),
  'log-dir': { type: 'string' },
  'use-cdi': { type: 'boolean', default: false },
  'cdi-spec-dir': { type: 'string', default: DEFAULT_CDI_DIR },
  'device-plugin-path': { type: 'string', default: '/var/lib/kubelet/device-plugins/' },
  'plugins-registry-path': { type: 'string', default: '/var/lib/kubelet/plugins_registry/' },
  registration: { type: 'string', default: 'auto' },
  // 10298: no common node agent's port (CSI livenessprobe has 9808), outside Prometheus' exporter range
  'http-addr': { type: 'string', default: `:${DEFAULT_HTTP_PORT}` },
  'cni-bin-dir': { type: 'string', default: '/opt/cni/bin' },
  'allocation-policy': { type: 'string', default: 'pack' },
  'rescan-interval': { type: 'string', default: '30' },
  'reconcile-grace': { type: 'string', default: '60' },
} as const

/** What -h prints (to stderr, as Go's flag package does): every flag with its default. */
export const USAGE = [
  'usage: sriovdp [flags]   or   sriovdp explain [--config-file F] [--resource-prefix P] [--json]',
  ...Object.entries(OPTIONS as Record<string, { type: string; default?: unknown }>)
    .filter(([name]) => !(IGNORED_GLOG_FLAGS as readonly string[]).includes(name))
    .map(([name, o]) => `  --${name}${o.type === 'string' ? ' value' : ''}${o.default !== undefined && o.default !== false ? ` (default ${JSON.stringify(o.default)})` : ''}`),
  'The README\'s "Device plugin flags" says what each does; Go\'s forms (-name=value, -v 10) work too.',
].join('\n')

export function parseOptions(argv: string[], s: Seams = seams()): Options {
  let values
  let ignoredArgs: string[] = []
  try {
    const all = goFlagArgs(argv, BOOLEAN_FLAGS)
    // Go's flag.Parse stops at the first argument that is no flag: it and what follows change nothing
    const { tokens } = parseArgs({ args: all, options: OPTIONS, strict: false, allowPositionals: true, tokens: true })
    const stop = tokens.find((tk) => tk.kind === 'positional' || tk.kind === 'option-terminator')
    const args = stop ? all.slice(0, stop.index) : all
    if (stop) ignoredArgs = all.slice(stop.index)
    if (args.some((a) => a === '-h' || a === '--h' || a === '--help')) throw new HelpRequested('help')
    ;({ values } = parseArgs({ args, options: OPTIONS, strict: true }))
  } catch (e) {
    if (e instanceof HelpRequested) throw e
    throw new UsageError((e as Error).message)
  }

  const reg = values.registration
  if (reg !== 'auto' && reg !== 'classic' && reg !== 'watcher') throw new UsageError(`--registration: ${reg} must be auto, classic or watcher`)
  const policy = values['allocation-policy']
  if (policy !== 'pack' && policy !== 'spread') throw new UsageError(`--allocation-policy: ${policy} must be pack or spread`)
  // an explicit --log-level wins over -v
  const logLevel = values['log-level'] !== undefined ? logLevelOf(values['log-level'], '--log-level') : values.v !== undefined ? logLevelOf(values.v, '-v') : 'info'
  // glog: --logtostderr sends everything to stderr and no file; --log_dir alone writes files (we also keep stderr)
  const logDir = values.logtostderr ? undefined : (values.log_dir ?? values['log-dir'] ?? undefined)
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
    logLevel,
    devicePluginPath: values['device-plugin-path']!,
    pluginsRegistryPath: values['plugins-registry-path']!,
    // auto: watcher mode when kubelet's plugin registry exists, as the Go plugin chooses
    registration: reg === 'auto' ? (fs.existsSync(values['plugins-registry-path']!) ? 'watcher' : 'classic') : reg,
    cniBinDir: values['cni-bin-dir']!,
    allocationPolicy: policy,
    rescanSeconds: seconds('rescan-interval'),
    reconcileGraceSeconds: seconds('reconcile-grace'),
    devinfoDir: s.devinfoDir,
    stateDir: s.stateDir,
    ignoredArgs,
    ignoredGlogFlags: IGNORED_GLOG_FLAGS.flatMap((f) => {
      const v = (values as Record<string, unknown>)[f]
      return v === undefined ? [] : [`-${f}=${String(v)}`]
    }),
  }
  for (const [flag, dir] of [['device-plugin-path', opts.devicePluginPath], ...(opts.registration === 'watcher' ? [['plugins-registry-path', opts.pluginsRegistryPath]] : [])]) {
    const problem = socketDirProblem(dir)
    if (problem) throw new UsageError(`--${flag}: ${problem}`)
  }
  if (httpAddr) opts.httpAddr = httpAddr
  if (logDir) opts.logDir = logDir
  if (values['use-cdi']) opts.cdiSpecDir = values['cdi-spec-dir']!
  return opts
}
