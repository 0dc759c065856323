// A kubelet stand-in over real gRPC unix sockets that behaves like kubelet's device manager: the Registration
// service on kubelet.sock (classic mode) or the plugin watcher on plugins_registry (watcher mode); after a
// registration it connects back, keeps ListAndWatch open, records every list of every connection, and takes
// allocatable from each answer, the first one included (a pod waiting for a device is admitted on it).
import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { api, type Device } from '../../deviceplugin/api'

/** One ListAndWatch stream from kubelet to a plugin, with every answer in order. */
export interface Connection {
  resource: string
  lists: Device[][]
}

export interface PluginConn extends Connection {
  client: grpc.Client & Record<string, any>
  options?: any
}

/** A pod asking for devices when a connection's first answer arrived, and what kubelet made of it. */
export interface Admission {
  resource: string
  ok: boolean
  error?: string
}

export interface KubeletOptions {
  /** Devices a pod waiting for the resource asks for: kubelet admits it on each connection's first answer. */
  admitOnFirstList?: number
  /** A kubelet that takes every Register call and never answers it (nor connects back). */
  hangRegister?: boolean
  /** A slow kubelet: Register answers success after this long, without connecting back. */
  registerDelayMs?: number
  /** Node paths (a plugin in a container names its socket by them) → the directories standing in for them. */
  nodePaths?: Record<string, string>
}

const healthyIds = (l: Device[]) => l.filter((d) => d.health === 'Healthy').map((d) => d.ID)

// kubelet dials plugins blocking, with a timeout: a socket file that exists before its server listens is fine
const DIAL_TIMEOUT_MS = 10000
function ready(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) => client.waitForReady(Date.now() + DIAL_TIMEOUT_MS, (e) => (e ? reject(e) : resolve())))
}

/** What kubelet knows about plugins, and waiting on it; the in-process stand-in and the child process share it. */
export class KubeletView extends EventEmitter {
  registrations: string[] = []
  readonly connections: Connection[] = []
  readonly admissions: Admission[] = []

  /** The resource's newest connection (kubelet drops the older ones when a plugin registers again). */
  latest(resource: string): Connection | undefined {
    for (let i = this.connections.length - 1; i >= 0; i--) if (this.connections[i].resource === resource) return this.connections[i]
    return undefined
  }

  /** What the node reports for the resource: the healthy devices of the newest answer. */
  allocatable(resource: string): number {
    return healthyIds(this.latest(resource)?.lists.at(-1) ?? []).length
  }

  /** The first answer of every connection to `resource` so far. */
  firstLists(resource: string): Device[][] {
    return this.connections.filter((c) => c.resource === resource && c.lists.length > 0).map((c) => c.lists[0])
  }

  protected recordList(conn: Connection, devices: Device[]): void {
    conn.lists.push(devices)
    this.emit('list', conn.resource, devices, conn)
  }

  protected recordAdmission(a: Admission): void {
    this.admissions.push(a)
    this.emit('admission', a)
  }

  /** Resolves with the first newest-connection list for `resource` that satisfies `pred`, or rejects after `ms`. */
  waitForList(resource: string, pred: (l: Device[]) => boolean, ms = 10000): Promise<Device[]> {
    const last = this.latest(resource)?.lists.at(-1)
    if (last && pred(last)) return Promise.resolve(last)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('list', on)
        reject(new Error(`no matching device list for ${resource} within ${ms} ms; last: ${JSON.stringify(this.latest(resource)?.lists.at(-1))}`))
      }, ms)
      const on = (r: string, l: Device[]) => {
        if (r === resource && pred(l)) {
          clearTimeout(timer)
          this.off('list', on)
          resolve(l)
        }
      }
      this.on('list', on)
    })
  }

  /** Polls `cond` until it holds; rejects naming `what` after `ms` (an overall limit, not a measurement). */
  waitFor(cond: () => boolean, what: string, ms = 10000): Promise<void> {
    return new Promise((resolve, reject) => {
      const start = Date.now()
      const tick = () => {
        if (cond()) return resolve()
        if (Date.now() - start > ms) return reject(new Error(`${what}: not within ${ms} ms`))
        setTimeout(tick, 10)
      }
      tick()
    })
  }

  /** Waits until kubelet has decided on the pod waiting on each connection that answered (admitOnFirstList). */
  waitForAdmissions(ms = 10000): Promise<void> {
    return this.waitFor(() => this.admissions.length >= this.connections.filter((c) => c.lists.length > 0).length, 'every waiting pod admitted or refused', ms)
  }

  waitForRegistrations(n: number, ms = 10000): Promise<void> {
    return this.waitFor(() => this.registrations.length >= n, `${n} registrations (have ${this.registrations.length})`, ms)
  }
}

export class KubeletStandIn extends KubeletView {
  server?: grpc.Server
  readonly plugins = new Map<string, PluginConn>()
  private registry?: { dir: string; watcher: fs.FSWatcher }

  constructor(readonly dir: string, readonly options: KubeletOptions = {}) {
    super()
  }

  get socket(): string {
    return path.join(this.dir, 'kubelet.sock')
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true })
    // kubelet is compiled Go: its decoders are warm before any plugin calls, and so are the stand-in's
    const lw = api().DevicePlugin.service.ListAndWatch
    lw.responseDeserialize(lw.responseSerialize({ devices: [{ ID: '0000:00:00.0', health: 'Healthy', topology: { nodes: [{ ID: 0 }] } }] }))
    const server = new grpc.Server()
    server.addService(api().Registration.service, {
      Register: (call: grpc.ServerUnaryCall<any, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const { endpoint, resource_name: resource, version } = call.request
        if (version !== 'v1beta1') return cb({ code: grpc.status.INVALID_ARGUMENT, details: `unsupported version ${version}` })
        this.registrations.push(resource)
        this.emit('registered', resource)
        if (this.options.hangRegister) return
        if (this.options.registerDelayMs) return void setTimeout(() => cb(null, {}), this.options.registerDelayMs)
        // as kubelet: Register answers once GetDevicePluginOptions has, and as ListAndWatch starts (kubelet
        // runs the stream on its own goroutine), so the stream may reach the plugin before the answer does
        this.connect(resource, path.join(this.dir, endpoint), () => cb(null, {})).catch((e: Error) => cb({ code: grpc.status.UNAVAILABLE, details: e.message }))
      },
    })
    // a kubelet that died with kill -9 left its socket behind: the new one replaces it
    fs.rmSync(this.socket, { force: true })
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${this.socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())))
    this.server = server
  }

  /** What kubelet does after a registration: options, then a ListAndWatch stream kept open. */
  async connect(resource: string, socketPath: string, watching?: () => void): Promise<PluginConn> {
    this.plugins.get(resource)?.client.close()
    const { DevicePlugin } = api()
    const client = new DevicePlugin(`unix://${socketPath}`, grpc.credentials.createInsecure()) as PluginConn['client']
    await ready(client)
    const conn: PluginConn = { resource, client, lists: [] }
    this.plugins.set(resource, conn)
    this.connections.push(conn)
    this.emit('connected', conn)
    conn.options = await new Promise((resolve, reject) => client.GetDevicePluginOptions({}, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))))
    const stream = client.ListAndWatch({})
    stream.on('data', (m: { devices: Device[] }) => {
      this.recordList(conn, m.devices)
      if (conn.lists.length === 1 && this.options.admitOnFirstList) this.admit(conn, this.options.admitOnFirstList)
    })
    stream.on('error', () => {})
    watching?.()
    return conn
  }

  /** kubelet's admission of a waiting pod: it fails unless the answer holds enough healthy devices. */
  private admit(conn: PluginConn, n: number): void {
    const healthy = healthyIds(conn.lists.at(-1)!)
    if (healthy.length < n) {
      this.recordAdmission({ resource: conn.resource, ok: false, error: `cannot allocate ${n} devices: only ${healthy.length} healthy` })
      return
    }
    conn.client.Allocate({ container_requests: [{ devices_ids: healthy.slice(0, n) }] }, (e: Error | null) =>
      this.recordAdmission(e ? { resource: conn.resource, ok: false, error: e.message } : { resource: conn.resource, ok: true }),
    )
  }

  /** Watcher mode: find the plugin's socket in plugins_registry, GetInfo, report success, connect. */
  async discover(registryDir: string, file: string): Promise<PluginConn> {
    const sock = path.join(registryDir, file)
    const { Watcher } = api()
    const reg = new Watcher(`unix://${sock}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>
    try {
      await ready(reg)
      const info: any = await new Promise((resolve, reject) => reg.GetInfo({}, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))))
      await new Promise((resolve, reject) => reg.NotifyRegistrationStatus({ plugin_registered: true }, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))))
      this.registrations.push(info.name)
      this.emit('registered', info.name)
      return await this.connect(info.name, this.onNode(info.endpoint))
    } finally {
      reg.close()
    }
  }

  /**
   * kubelet's plugin watcher: the sockets already in `dir` when it starts (unless `traverse` is false: a
   * watcher that missed them), then every socket created there.
   */
  watchRegistry(dir: string, traverse = true): void {
    fs.mkdirSync(dir, { recursive: true })
    // fs.watch reports creations and removals alike: a socket file counts once (fsnotify's Create)
    const known = new Map<string, string>()
    const seen = (file: string) => {
      if (!file.endsWith('.sock')) return
      const st = fs.statSync(path.join(dir, file), { bigint: true, throwIfNoEntry: false })
      if (!st?.isSocket()) return // removed again
      const id = `${st.ino}:${st.birthtimeNs}`
      if (known.get(file) === id) return
      known.set(file, id)
      this.discover(dir, file).catch(() => {}) // a socket nobody serves (a plugin that died)
    }
    const watcher = fs.watch(dir, (event, file) => event === 'rename' && file && seen(String(file)))
    this.registry = { dir, watcher }
    if (traverse) for (const f of fs.readdirSync(dir)) seen(f)
  }

  /** Where this stand-in finds a path the plugin named. */
  private onNode(p: string): string {
    for (const [node, here] of Object.entries(this.options.nodePaths ?? {})) {
      if (p === node || p.startsWith(`${node}/`)) return path.join(here, p.slice(node.length))
    }
    return p
  }

  call(resource: string, method: string, req: object): Promise<any> {
    const c = this.plugins.get(resource)!.client
    return new Promise((resolve, reject) => c[method](req, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))))
  }

  /** A kubelet restart: it stops, deletes every socket in its directory, and comes back. */
  async restart(): Promise<void> {
    const registry = this.registry?.dir
    await this.stop()
    for (const f of fs.readdirSync(this.dir)) if (f.endsWith('.sock')) fs.rmSync(path.join(this.dir, f), { force: true })
    await this.start()
    if (registry) this.watchRegistry(registry)
  }

  async stop(): Promise<void> {
    this.registry?.watcher.close()
    this.registry = undefined
    for (const p of this.plugins.values()) p.client.close()
    this.plugins.clear()
    const s = this.server
    this.server = undefined
    if (s && this.options.hangRegister) s.forceShutdown() // its calls never end by themselves
    else if (s) await new Promise<void>((r) => s.tryShutdown(() => r()))
    fs.rmSync(this.socket, { force: true })
  }
}
