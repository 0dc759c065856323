// Runs another plugin (a non-host-local IPAM) exactly as a runtime would: CNI_* env, config on stdin.
import fs = require('node:fs')
import path = require('node:path')
import type { CniEnv, Command } from './env'
import { CniError, ErrorCode } from './errors'
import { fromVersion, type Result } from './result'

export function findPlugin(type: string, dirs: string[]): string {
  if (type.includes('/')) throw new CniError(ErrorCode.InvalidConfig, `invalid plugin type ${JSON.stringify(type)}: must be a file name`)
  for (const dir of dirs) {
    const candidate = path.join(dir, type)
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch {
      /* try the next directory */
    }
  }
  throw new CniError(ErrorCode.InvalidConfig, `failed to find plugin ${JSON.stringify(type)} in CNI_PATH [${dirs.join(':')}]`)
}

function formatArgs(args: Record<string, string>): string {
  return Object.entries(args).map(([k, v]) => `${k}=${v}`).join(';')
}

export async function execPlugin(type: string, command: Command, netConf: Record<string, unknown>, env: CniEnv): Promise<Result | undefined> {
  const file = findPlugin(type, env.path)
  // loaded here, not at start-up: most sriov calls (host-local IPAM) never delegate
  const { spawn } = require('node:child_process') as typeof import('node:child_process')
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    CNI_COMMAND: command,
    CNI_CONTAINERID: env.containerId,
    CNI_NETNS: env.netns,
    CNI_IFNAME: env.ifname,
    CNI_ARGS: formatArgs(env.args),
    CNI_PATH: env.path.join(':'),
  }
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(file, [], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('close', (c) => resolve({ code: c ?? 1, stdout: out, stderr: err }))
    child.stdin.end(JSON.stringify(netConf))
  })
  const version = typeof netConf.cniVersion === 'string' ? netConf.cniVersion : '0.1.0'
  if (code !== 0) {
    let parsed: { code?: number; msg?: string; details?: string } = {}
    try {
      parsed = JSON.parse(stdout)
    } catch {
      /* not error JSON: report stderr instead */
    }
    throw new CniError(
      typeof parsed.code === 'number' ? parsed.code : ErrorCode.Internal,
      `${type} ${command} failed: ${parsed.msg ?? (stderr.trim() || `exit code ${code}`)}`,
      parsed.details,
    )
  }
  if (command !== 'ADD') return undefined
  let value: unknown
  try {
    value = JSON.parse(stdout)
  } catch (e) {
    throw new CniError(ErrorCode.DecodeFailure, `${type} ADD printed a result that is not JSON: ${(e as Error).message}`)
  }
  return fromVersion(value, version)
}
