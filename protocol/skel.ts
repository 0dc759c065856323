// The plugin main loop: environment and stdin in, one result or error JSON out, exit code set.
import fs = require('node:fs')
import { parseEnv, parseCommand, type CniEnv } from './env'
import { CniError, ErrorCode, errorJson } from './errors'
import { decodeJsonObject, parseNetConf, type NetConf } from './netconf'
import { toVersion, type Result } from './result'
import { checkVersionFor, isSupportedVersion, LATEST_VERSION, SUPPORTED_VERSIONS } from './version'

export interface PluginContext {
  env: CniEnv
  conf: NetConf
  stdin: Buffer
}

export interface PluginFuncs {
  add(c: PluginContext): Promise<Result>
  del(c: PluginContext): Promise<void>
  check(c: PluginContext): Promise<void>
  status(c: PluginContext): Promise<void>
  gc(c: PluginContext): Promise<void>
}

export interface Io {
  env: NodeJS.ProcessEnv
  readStdin: () => Promise<Buffer>
  write: (text: string) => void
  writeErr: (text: string) => void
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c)
  return Buffer.concat(chunks)
}

// Plain fd reads and writes: creating process.stdin/stdout streams costs a short-lived plugin a few ms. Read
// with readSync, which the plugin calls anyway: Node compiles each of its own functions on its first call, and
// readFileSync and its helpers cost a call ~0.2 ms more.
function readStdinSync(): Promise<Buffer> {
  const chunks: Buffer[] = []
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(64 * 1024)
      const n = fs.readSync(0, buf)
      if (n === 0) break
      chunks.push(buf.subarray(0, n))
    }
  } catch (e) {
    // a non-blocking stdin: the rest as it comes
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return readAll(process.stdin).then((rest) => Buffer.concat([...chunks, rest]))
    throw e
  }
  return Promise.resolve(Buffer.concat(chunks))
}

const processIo = (): Io => ({
  env: process.env,
  readStdin: readStdinSync,
  write: (t) => fs.writeSync(1, t),
  writeErr: (t) => fs.writeSync(2, t),
})

/** Runs one CNI invocation; returns the exit code (also set on process.exitCode when using process I/O). */
export async function pluginMain(funcs: PluginFuncs, about: string, io: Io = processIo()): Promise<number> {
  let version: string = LATEST_VERSION
  try {
    if (!io.env.CNI_COMMAND) {
      io.writeErr(`${about}\nCNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}\n`)
      return setExit(io, 0)
    }
    const command = parseCommand(io.env.CNI_COMMAND)
    if (command === 'VERSION') {
      const stdin = await io.readStdin()
      const asked = stdin.length ? decodeJsonObject(stdin, 'VERSION request').cniVersion : undefined
      version = typeof asked === 'string' && isSupportedVersion(asked) ? asked : LATEST_VERSION
      io.write(JSON.stringify({ cniVersion: version, supportedVersions: SUPPORTED_VERSIONS }) + '\n')
      return setExit(io, 0)
    }
    const stdin = await io.readStdin()
    const conf = parseNetConf(stdin)
    version = conf.cniVersion
    const env = parseEnv(io.env)
    checkVersionFor(command, version)
    const ctx: PluginContext = { env, conf, stdin }
    switch (command) {
      case 'ADD': {
        const result = await funcs.add(ctx)
        io.write(JSON.stringify(toVersion({ ...result, cniVersion: version }, version)) + '\n')
        break
      }
      case 'DEL':
        await funcs.del(ctx)
        break
      case 'CHECK':
        await funcs.check(ctx)
        break
      case 'STATUS':
        await funcs.status(ctx)
        break
      case 'GC':
        await funcs.gc(ctx)
        break
    }
    return setExit(io, 0)
  } catch (err) {
    try {
      io.write(JSON.stringify(errorJson(err, (err as { cniVersion?: string }).cniVersion ?? version)) + '\n')
    } catch (e) {
      // stdout gone (the runtime stopped reading) or full: the answer is lost, the exit code still tells
      try {
        io.writeErr(`cannot write the answer to stdout: ${(e as Error).message}\n`)
      } catch {
        /* stderr gone too */
      }
    }
    return setExit(io, 1)
  }
}

function setExit(io: Io, code: number): number {
  if (io.env === process.env) process.exitCode = code
  return code
}

/**
 * GC's list of attachments to keep: `cni.dev/valid-attachments` (spec 1.1), else `cni.dev/attachments`, which
 * older libcni releases send. Without either, GC would release everything: that is refused.
 */
export function validAttachments(conf: NetConf): { containerID: string; ifname: string }[] {
  const list = conf.raw['cni.dev/valid-attachments'] ?? conf.raw['cni.dev/attachments']
  if (list === undefined || list === null) {
    throw new CniError(ErrorCode.InvalidConfig, 'missing "cni.dev/valid-attachments": GC needs the list of attachments to keep')
  }
  if (!Array.isArray(list)) throw new CniError(ErrorCode.InvalidConfig, 'invalid "cni.dev/valid-attachments": expected a list')
  return list.map((a: Record<string, unknown>, i) => {
    if (typeof a?.containerID !== 'string' || typeof a?.ifname !== 'string') {
      throw new CniError(ErrorCode.InvalidConfig, `invalid "cni.dev/valid-attachments"[${i}]: needs containerID and ifname strings`)
    }
    return { containerID: a.containerID, ifname: a.ifname }
  })
}
