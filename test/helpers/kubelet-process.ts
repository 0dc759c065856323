// The kubelet stand-in in a child process (test/helpers/kubelet-child.ts): the same view of registrations,
// connections and lists as the in-process one, and a real `kill -9`.
import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import esbuild from 'esbuild'
import type { Device } from '../../deviceplugin/api'
import { KubeletView, type Admission, type Connection } from './kubelet'
import { ROOT } from './plugin-exec'

export interface KubeletProcessOptions {
  /** watcher mode: the plugins_registry directory kubelet's plugin watcher looks at */
  registryDir?: string
  /** false: the plugin watcher misses the sockets already there when it starts, and sees only new ones */
  traverse?: boolean
  admitOnFirstList?: number
}

type Message =
  | { type: 'ready' }
  | { type: 'registered'; resource: string }
  | { type: 'connected'; resource: string; conn: number }
  | { type: 'list'; resource: string; conn: number; devices: Device[] }
  | ({ type: 'admission' } & Admission)
  | { type: 'reply'; id: number; result?: unknown; error?: string }

/** The child's bundle, built once per test process under dist/ (the protos are found above it). */
function childScript(): string {
  const out = path.join(ROOT, 'dist', 'test', 'kubelet-child.cjs')
  const tmp = `${out}.${process.pid}.tmp`
  fs.mkdirSync(path.dirname(out), { recursive: true })
  esbuild.buildSync({ entryPoints: [path.join(ROOT, 'test/helpers/kubelet-child.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: tmp, logLevel: 'error' })
  fs.renameSync(tmp, out) // test files running at once each build it; the rename keeps every reader whole
  return out
}

let script: string | undefined

export class KubeletProcess extends KubeletView {
  child?: ChildProcess
  private conns = new Map<number, Connection>()
  private replies = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  private nextId = 0

  constructor(readonly dir: string, readonly options: KubeletProcessOptions = {}) {
    super()
  }

  /** Starts kubelet; `clean` also deletes every socket in its directory first, as kubelet does at start-up. */
  async start(o: { clean?: boolean } = {}): Promise<void> {
    script ??= childScript()
    fs.mkdirSync(this.dir, { recursive: true })
    const env: NodeJS.ProcessEnv = { ...process.env, KUBELET_DIR: this.dir, KUBELET_CLEAN: o.clean ? '1' : '' }
    if (this.options.registryDir) env.KUBELET_REGISTRY = this.options.registryDir
    if (this.options.traverse === false) env.KUBELET_TRAVERSE = '0'
    if (this.options.admitOnFirstList) env.KUBELET_ADMIT = String(this.options.admitOnFirstList)
    const child = fork(script, [], { env, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child = child
    this.conns = new Map() // connection numbers restart with each process
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`kubelet stand-in exited with ${code} before it was ready`)))
      child.on('message', (m: Message) => {
        if (m.type === 'ready') resolve()
        else this.onMessage(m)
      })
    })
    child.removeAllListeners('exit')
  }

  private onMessage(m: Message): void {
    switch (m.type) {
      case 'registered':
        this.registrations.push(m.resource)
        break
      case 'connected': {
        const conn: Connection = { resource: m.resource, lists: [] }
        this.conns.set(m.conn, conn)
        this.connections.push(conn)
        break
      }
      case 'list':
        this.recordList(this.conns.get(m.conn)!, m.devices)
        break
      case 'admission':
        this.recordAdmission({ resource: m.resource, ok: m.ok, ...(m.error ? { error: m.error } : {}) })
        break
      case 'reply': {
        const r = this.replies.get(m.id)
        this.replies.delete(m.id)
        if (m.error !== undefined) r?.reject(new Error(m.error))
        else r?.resolve(m.result)
      }
    }
  }

  call(resource: string, method: string, req: object): Promise<any> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.replies.set(id, { resolve, reject })
      this.child!.send({ type: 'call', id, resource, method, req })
    })
  }

  /** SIGKILL: the process ends with no clean-up at all; kubelet.sock and every plugin socket stay. */
  async kill9(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
    for (const r of this.replies.values()) r.reject(new Error('kubelet killed'))
    this.replies.clear()
  }

  /** kill -9, then a new kubelet that re-creates kubelet.sock (and, with `clean`, deletes plugin sockets). */
  async restart(o: { clean?: boolean } = {}): Promise<void> {
    await this.kill9()
    await this.start(o)
  }

  async stop(): Promise<void> {
    await this.kill9()
    fs.rmSync(path.join(this.dir, 'kubelet.sock'), { force: true })
  }
}
