// A kubelet stand-in over real gRPC unix sockets: the Registration service on kubelet.sock (classic mode)
// or the plugin watcher's side (watcher mode); it connects back to plugins, keeps ListAndWatch open and
// records every list it receives.
import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import { api, type Device } from '../../deviceplugin/api'

export interface PluginConn {
  resource: string
  client: grpc.Client & Record<string, any>
  lists: Device[][]
  options?: any
}

export class KubeletStandIn extends EventEmitter {
  server?: grpc.Server
  readonly plugins = new Map<string, PluginConn>()
  registrations: string[] = []

  constructor(readonly dir: string) {
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
        cb(null, {})
        this.connect(resource, path.join(this.dir, endpoint)).catch(() => {}) // a stand-in stopped mid-connect
      },
    })
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${this.socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())))
    this.server = server
  }

  /** What kubelet does after a registration: options, then a ListAndWatch stream kept open. */
  async connect(resource: string, socketPath: string): Promise<PluginConn> {
    this.plugins.get(resource)?.client.close()
    const { DevicePlugin } = api()
    const client = new DevicePlugin(`unix://${socketPath}`, grpc.credentials.createInsecure()) as PluginConn['client']
    const conn: PluginConn = { resource, client, lists: [] }
    this.plugins.set(resource, conn)
    conn.options = await new Promise((resolve, reject) => client.GetDevicePluginOptions({}, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))))
    const stream = client.ListAndWatch({})
    stream.on('data', (m: { devices: Device[] }) => {
      conn.lists.push(m.devices)
      this.emit('list', resource, m.devices)
    })
    stream.on('error', () => {})
    return conn
  }

  /** Watcher mode: find the plugin's socket in plugins_registry, GetInfo, report success, connect. */
  async discover(registryDir: string, file: string): Promise<PluginConn> {
    const sock = path.join(registryDir, file)
    const { Watcher } = api()
    const reg = new Watcher(`unix://${sock}`, grpc.credentials.createInsecure()) as grpc.Client & Record<string, any>
    const info: any = await new Promise((resolve, reject) => reg.GetInfo({}, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))))
    await new Promise((resolve, reject) => reg.NotifyRegistrationStatus({ plugin_registered: true }, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))))
    reg.close()
    this.registrations.push(info.name)
    return this.connect(info.name, info.endpoint)
  }

  /** Resolves with the first list for `resource` that satisfies `pred`, or rejects after `ms`. */
  waitForList(resource: string, pred: (l: Device[]) => boolean, ms = 10000): Promise<Device[]> {
    const last = this.plugins.get(resource)?.lists.at(-1)
    if (last && pred(last)) return Promise.resolve(last)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('list', on)
        reject(new Error(`no matching device list for ${resource} within ${ms} ms; last: ${JSON.stringify(this.plugins.get(resource)?.lists.at(-1))}`))
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

  waitForRegistrations(n: number, ms = 10000): Promise<void> {
    return new Promise((resolve, reject) => {
      const start = Date.now()
      const tick = () => {
        if (this.registrations.length >= n) return resolve()
        if (Date.now() - start > ms) return reject(new Error(`only ${this.registrations.length} registrations within ${ms} ms`))
        setTimeout(tick, 20)
      }
      tick()
    })
  }

  call(resource: string, method: string, req: object): Promise<any> {
    const c = this.plugins.get(resource)!.client
    return new Promise((resolve, reject) => c[method](req, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))))
  }

  /** A kubelet restart: it stops, deletes every socket in its directory, and comes back. */
  async restart(): Promise<void> {
    await this.stop()
    for (const f of fs.readdirSync(this.dir)) if (f.endsWith('.sock')) fs.rmSync(path.join(this.dir, f), { force: true })
    await this.start()
  }

  async stop(): Promise<void> {
    for (const p of this.plugins.values()) p.client.close()
    this.plugins.clear()
    const s = this.server
    this.server = undefined
    if (s) await new Promise<void>((r) => s.tryShutdown(() => r()))
    fs.rmSync(this.socket, { force: true })
  }
}
