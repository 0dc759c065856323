// Runs a CNI plugin executable the way a runtime does: CNI_* environment, config on stdin.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** The project root: the nearest directory above this file with a package.json (also when bundled into dist/). */
export const ROOT = ((): string => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) if (fs.existsSync(path.join(dir, 'package.json'))) return dir
  throw new Error(`no package.json above ${__dirname}`)
})()
export const REFERENCE_DIR = '/usr/lib/cni'

export interface ExecResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  json?: any
}

export interface ExecOptions {
  command: string
  containerId?: string
  netns?: string
  ifname?: string
  args?: string
  path?: string
  env?: Record<string, string>
  onSpawn?: (child: ChildProcess) => void
  /** Runs the plugin under this umask (through sh), as a runtime started with it would. */
  umask?: string
  cwd?: string
}

export function execPlugin(file: string, conf: object | string, o: ExecOptions): Promise<ExecResult> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CNI_COMMAND: o.command,
    CNI_CONTAINERID: o.containerId ?? '',
    CNI_NETNS: o.netns ?? '',
    CNI_IFNAME: o.ifname ?? '',
    CNI_ARGS: o.args ?? '',
    CNI_PATH: o.path ?? REFERENCE_DIR,
    ...o.env,
  }
  return new Promise((resolve, reject) => {
    const child = o.umask === undefined
      ? spawn(file, [], { env, stdio: ['pipe', 'pipe', 'pipe'], cwd: o.cwd })
      : spawn('/bin/sh', ['-c', `umask ${o.umask} && exec "$0"`, file], { env, stdio: ['pipe', 'pipe', 'pipe'], cwd: o.cwd })
    o.onSpawn?.(child)
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      let json: any
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined
      } catch {
        json = undefined
      }
      resolve({ code, signal, stdout, stderr, json })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(typeof conf === 'string' ? conf : JSON.stringify(conf))
  })
}

/** Our executable under the name `host-local` (standalone mode), in a fresh temp directory. */
export function ourHostLocal(t: { teardown(fn: () => void): void }): string {
  const bin = process.env.SRIOV_BIN ?? path.join(ROOT, 'dist', 'bin', 'sriov')
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ours-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.symlinkSync(bin, path.join(dir, 'host-local'))
  return path.join(dir, 'host-local')
}

export function referencePlugin(name: string): string {
  const file = path.join(REFERENCE_DIR, name)
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: apt-get install containernetworking-plugins`)
  return file
}

/** Names and contents of every file under `dir` (none when it does not exist yet), for comparison. */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (!fs.existsSync(dir)) return out
  for (const name of fs.readdirSync(dir).sort()) out[name] = fs.readFileSync(path.join(dir, name), 'latin1')
  return out
}
