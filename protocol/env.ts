// The CNI_* environment, parsed once and validated per command as the spec requires.
import { CniError, ErrorCode } from './errors'
import { validateContainerId, validateIfname } from './names'

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION'
const COMMANDS: readonly Command[] = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION']

export interface CniEnv {
  command: Command
  containerId: string
  netns: string
  ifname: string
  args: Record<string, string>
  path: string[]
}

/** Which variables each verb needs (spec 1.1 "Parameters"). */
const REQUIRED: Record<Command, ReadonlyArray<'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH'>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_PATH'],
  STATUS: ['CNI_PATH'],
  VERSION: [],
}

/** CNI_ARGS is `K=V;K2=V2`; a pair without `=` is an error, as in libcni. */
export function parseCniArgs(raw: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (!raw) return out
  for (const pair of raw.split(';')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new CniError(ErrorCode.InvalidEnv, `invalid CNI_ARGS pair ${JSON.stringify(pair)}: expected KEY=VALUE`)
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}

export function parseCommand(raw: string | undefined): Command {
  if (!raw) throw new CniError(ErrorCode.InvalidEnv, 'missing CNI_COMMAND')
  if (!(COMMANDS as readonly string[]).includes(raw)) {
    throw new CniError(ErrorCode.InvalidEnv, `unknown CNI_COMMAND ${JSON.stringify(raw)}: expected one of ${COMMANDS.join(', ')}`)
  }
  return raw as Command
}

export function parseEnv(env: NodeJS.ProcessEnv = process.env): CniEnv {
  const command = parseCommand(env.CNI_COMMAND)
  for (const name of REQUIRED[command]) {
    if (name === 'CNI_PATH') continue // an empty CNI_PATH only matters when a plugin has to be found
    if (!env[name]) throw new CniError(ErrorCode.InvalidEnv, `missing ${name}: required for ${command}`)
  }
  const containerId = env.CNI_CONTAINERID ?? ''
  const ifname = env.CNI_IFNAME ?? ''
  if (containerId) validateContainerId(containerId)
  if (ifname) validateIfname(ifname)
  return {
    command,
    containerId,
    netns: env.CNI_NETNS ?? '',
    ifname,
    args: parseCniArgs(env.CNI_ARGS ?? ''),
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
  }
}
