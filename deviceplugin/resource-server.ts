// One resource's device plugin endpoint: a gRPC server on its own unix socket serving the kubelet
// DevicePlugin API (and, in watcher mode, the plugin registration API), plus registration with kubelet.
import fs = require('node:fs')
import type net from 'node:net'
import path = require('node:path')
import * as grpc from '@grpc/grpc-js'
import type { Logger } from 'pino'
import type { PciDevice } from '../host/pci'
import { vhostNodes } from '../host/vhost-net'
import { allocateContainer } from './allocation'
import { api, type Device } from './api'
import { cdiReferences, type CdiSpecs } from './cdi'
import { fullName, type ResourceConfig } from './config'
import { memoryReleased } from './heap'
import { socketIdentity } from './kubelet-socket'
import { takeEarlyClient } from './startup'
import type { Metrics } from './metrics'
import { preferredAllocation, type AllocationPolicy } from './preferred'
import { makeDirs } from '../host/make-dirs'

export interface ServerOptions {
  socketPath: string
  kubeletSocket: string
  watcherMode: boolean
  devinfoDir: string
  policy: AllocationPolicy
  /** --use-cdi: Allocate names the devices of this resource's CDI spec */
  cdi?: CdiSpecs
  log: Logger
  metrics: Metrics
}

type Stream = grpc.ServerWritableStream<unknown, { devices: Device[] }>

const MAX_STREAMS = 16
const MAX_CONNECTIONS = 64
const SERVER_OPTIONS: grpc.ServerOptions = {
  // kubelet's largest request lists a resource's device IDs: some 20 KB for a thousand devices
  'grpc.max_receive_message_length': 1 << 20,
  // channelz keeps a record (and a trace) of every connection and call; nothing here reads it
  'grpc.enable_channelz': 0,
  // kubelet's connection always carries its ListAndWatch stream: one without any call is someone else's
  'grpc.max_connection_idle_ms': 60000,
}
// an error's message travels in a trailer: a 100 KB one exceeds the client's header limit and its call hangs
const LISTED_IDS = 10
const SHOWN_ID_CHARS = 64

/** IDs for an error message: the first few, each cut short. */
function listIds(ids: string[]): string {
  const shown = ids.slice(0, LISTED_IDS).map((id) => (id.length > SHOWN_ID_CHARS ? `${id.slice(0, 20)}... (${id.length} characters)` : id))
  return shown.join(', ') + (ids.length > LISTED_IDS ? ` and ${ids.length - LISTED_IDS} more` : '')
}

const STOP_GRACE_MS = 1000
const WRITE_WAIT_MS = 1000

export class ResourceServer {
  readonly fullName: string
  private server?: grpc.Server
  private streams = new Set<Stream>()
  private devices = new Map<string, PciDevice>()
  private healthy = new Map<string, boolean>()
  private listed = false
  registered = false
  /** stopped for good: a server is never started again (a resource served anew gets a new one) */
  stopped = false
  /** ListAndWatch streams refused for being too many: the first is logged as a warning */
  private refusedStreams = 0
  /** the registration under way, if one is */
  registering?: Promise<void>
  /** the kubelet (kubelet.sock's identity) that registered this socket last; another one means serving anew */
  kubelet?: string

  constructor(public resource: ResourceConfig, readonly opts: ServerOptions) {
    this.fullName = fullName(resource)
  }

  list(): Device[] {
    return [...this.devices.values()].map((d) => {
      const dev: Device = { ID: d.pci, health: this.healthy.get(d.pci) === false ? 'Unhealthy' : 'Healthy' }
      if (!this.resource.excludeTopology && d.numaNode >= 0) dev.topology = { nodes: [{ ID: d.numaNode }] }
      return dev
    })
  }

  /**
   * New device set and health; streams get the full list again only when something changed. Called before
   * start() too: kubelet's first ListAndWatch answer must already be the list (it allocates on it).
   */
  update(devices: PciDevice[], healthy: Map<string, boolean>): boolean {
    const before = JSON.stringify(this.list())
    this.devices = new Map(devices.map((d) => [d.pci, d]))
    this.healthy = healthy
    this.listed = true
    const after = this.list()
    if (JSON.stringify(after) === before) return false
    for (const s of this.streams) this.send(s, after)
    this.opts.metrics.devices(this.fullName, after)
    return true
  }

  /**
   * Stops listing the devices `keep` refuses (another resource takes them, or they are gone), and resolves with
   * them once that list is written to every stream: only then may another resource list them, or kubelet would
   * count a VF under two names at once.
   */
  async withdraw(keep: (pci: string) => boolean): Promise<string[]> {
    const dropped = [...this.devices.keys()].filter((pci) => !keep(pci))
    if (!dropped.length) return []
    for (const pci of dropped) this.devices.delete(pci)
    const after = this.list()
    // a stream cancelled meanwhile may never call back: its kubelet is gone, and the wait ends anyway
    const written = (s: Stream) => new Promise<void>((done) => {
      const timer = setTimeout(done, WRITE_WAIT_MS)
      this.send(s, after, () => {
        clearTimeout(timer)
        done()
      })
    })
    await Promise.all([...this.streams].map(written))
    this.opts.metrics.devices(this.fullName, after)
    this.opts.log.info({ resource: this.fullName, withdrawn: dropped, devices: after.length }, 'devices withdrawn')
    return dropped
  }

  private send(s: Stream, devices: Device[], written?: () => void): void {
    try {
      s.write({ devices }, written)
      this.opts.metrics.sent(this.fullName)
    } catch (e) {
      // a broken stream is dropped; kubelet opens a new one
      this.streams.delete(s)
      this.opts.log.warn({ resource: this.fullName, err: (e as Error).message }, 'ListAndWatch stream dropped')
      written?.()
    }
  }

  private handlers(): grpc.UntypedServiceImplementation {
    return {
      GetDevicePluginOptions: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { pre_start_required: false, get_preferred_allocation_available: true }),
      ListAndWatch: (call: Stream) => {
        // kubelet keeps one stream per resource: beyond a few the client is confused or hostile, and refusing
        // the newest keeps serving the oldest, kubelet's (a dead kubelet's stream ends with its socket)
        if (this.streams.size >= MAX_STREAMS) {
          this.opts.log[this.refusedStreams++ ? 'debug' : 'warn']({ resource: this.fullName, streams: this.streams.size }, 'ListAndWatch stream refused: too many open')
          call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `${this.fullName}: ${MAX_STREAMS} ListAndWatch streams are open already` })
          return
        }
        this.streams.add(call)
        const drop = () => {
          if (this.streams.delete(call)) memoryReleased()
        }
        call.on('cancelled', drop)
        call.on('error', drop)
        call.on('close', drop)
        this.send(call, this.list())
      },
      GetPreferredAllocation: (call: grpc.ServerUnaryCall<any, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const responses = (call.request.container_requests ?? []).map((r: any) => {
          const ids: string[] = [...new Set<string>(r.available_deviceIDs ?? [])] // a device is preferred once at most
          const avail = ids.map((id) => this.devices.get(id)).filter((d): d is PciDevice => !!d)
          return { deviceIDs: preferredAllocation(avail, r.must_include_deviceIDs ?? [], r.allocation_size ?? 0, this.opts.policy) }
        })
        cb(null, { container_responses: responses })
      },
      Allocate: (call: grpc.ServerUnaryCall<any, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        try {
          const vhost = vhostNodes()
          // the spec as it must be now (vhost-net may have appeared): rewritten only if it changed
          const listed = this.opts.cdi?.write(this.resource, [...this.devices.values()], vhost)
          const responses = (call.request.container_requests ?? []).map((r: any) => {
            const ids: string[] = r.devices_ids ?? []
            // kubelet asks for one or more distinct devices: anything else would hand a pod an empty or doubled env
            if (ids.length === 0) throw new Error(`${this.fullName}: a container request without device IDs`)
            // a Set, not indexOf per ID: a request may carry tens of thousands of IDs within its 1 MiB
            const seen = new Set<string>()
            const twice = new Set<string>()
            for (const id of ids) (seen.has(id) ? twice : seen).add(id)
            if (twice.size) throw new Error(`${this.fullName}: device IDs asked for more than once: ${listIds([...twice])}`)
            const unknown = ids.filter((id) => !this.devices.has(id))
            if (unknown.length) throw new Error(`${this.fullName}: unknown device IDs ${listIds(unknown)}`)
            const sick = ids.filter((id) => this.healthy.get(id) === false)
            if (sick.length) throw new Error(`${this.fullName}: unhealthy device IDs ${listIds(sick)}`)
            const cdi = listed && cdiReferences(this.resource, ids.filter((id) => listed.has(id)))
            const { warnings, ...answer } = allocateContainer(ids.map((id) => this.devices.get(id)!), this.resource, { devinfoDir: this.opts.devinfoDir, vhost, ...(cdi ? { cdi } : {}) })
            for (const w of warnings) this.opts.log.warn({ resource: this.fullName }, w)
            this.opts.log.debug({ resource: this.fullName, devices: ids, cdi: answer.cdi_devices.map((d) => d.name) }, 'Allocate')
            return answer
          })
          this.opts.metrics.allocated(this.fullName, responses.length)
          cb(null, { container_responses: responses })
        } catch (e) {
          this.opts.log.warn({ resource: this.fullName, err: (e as Error).message }, 'Allocate refused')
          cb({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message })
        }
      },
      PreStartContainer: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    }
  }

  async start(): Promise<void> {
    if (!this.listed) throw new Error(`${this.fullName}: served before its device list was set`)
    makeDirs(path.dirname(this.opts.socketPath), 0o755)
    fs.rmSync(this.opts.socketPath, { force: true })
    const server = new grpc.Server(SERVER_OPTIONS)
    const { DevicePlugin, Watcher } = api()
    server.addService(DevicePlugin.service, this.handlers())
    if (this.opts.watcherMode) {
      server.addService(Watcher.service, {
        GetInfo: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { type: 'DevicePlugin', name: this.fullName, endpoint: this.opts.socketPath, supported_versions: ['v1beta1'] }),
        NotifyRegistrationStatus: (call: grpc.ServerUnaryCall<any, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          this.registered = !!call.request.plugin_registered && !this.stopped
          if (this.registered) {
            this.kubelet = socketIdentity(this.opts.kubeletSocket)
            this.opts.metrics.registered(this.fullName)
          }
          else this.opts.log.error({ resource: this.fullName, err: call.request.error }, 'kubelet refused the registration')
          cb(null, {})
        },
      })
    }
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${this.opts.socketPath}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())))
    limitConnections(server)
    this.server = server
  }

  /** Classic registration: Register on kubelet.sock, naming our socket (relative to the directory); a call while one is under way joins it. */
  register(): Promise<void> {
    this.registering ??= this.registerOnce().finally(() => (this.registering = undefined))
    return this.registering
  }

  private async registerOnce(): Promise<void> {
    // a reload may have stopped this resource while its registration waited: kubelet must not hear of it
    if (this.stopped) return
    const kubeletSocket = this.opts.kubeletSocket
    const kubelet = socketIdentity(kubeletSocket)
    const client = takeEarlyClient(kubeletSocket) ?? new (api().Registration)(`unix://${kubeletSocket}`, grpc.credentials.createInsecure())
    try {
      await new Promise<void>((resolve, reject) => {
        client.Register(
          { version: 'v1beta1', endpoint: path.basename(this.opts.socketPath), resource_name: this.fullName, options: { pre_start_required: false, get_preferred_allocation_available: true } },
          { deadline: Date.now() + 5000 },
          (e: Error | null) => (e ? reject(e) : resolve()),
        )
      })
      if (this.stopped) return // stopped while kubelet answered: its metric series are gone and stay gone
      this.registered = true
      this.kubelet = kubelet
      this.opts.metrics.registered(this.fullName)
    } finally {
      client.close()
    }
  }

  socketMissing(): boolean {
    return !fs.existsSync(this.opts.socketPath)
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const s of this.streams) s.end()
    this.streams.clear()
    const server = this.server
    this.server = undefined
    if (server) {
      await new Promise<void>((resolve) => {
        // a peer that never closes its connection must not hold up every later refresh
        const force = setTimeout(() => {
          server.forceShutdown()
          resolve()
        }, STOP_GRACE_MS)
        server.tryShutdown(() => {
          clearTimeout(force)
          resolve()
        })
      })
    }
    fs.rmSync(this.opts.socketPath, { force: true })
    this.registered = false
    memoryReleased()
  }
}

/**
 * A connection costs some 20 KB of HTTP/2 session memory: beyond MAX_CONNECTIONS new ones are closed at once
 * (kubelet needs one per resource), and a closed one's memory is given back. grpc-js keeps its HTTP/2
 * servers to itself: when it no longer has them where we look, nothing is limited.
 */
function limitConnections(server: grpc.Server): void {
  const http2Servers = (server as unknown as { http2Servers?: Map<net.Server, unknown> }).http2Servers
  for (const h2 of http2Servers?.keys() ?? []) {
    h2.maxConnections = MAX_CONNECTIONS
    h2.on('connection', (socket: net.Socket) => socket.once('close', memoryReleased))
  }
}
