// The daemon's core: discover, assign devices to resources, keep one server per non-empty resource, and
// react to changes (link events, PCI uevents, config edits, kubelet restarts) within a second; a periodic
// rescan is only a safety net.
import fs from 'node:fs'
import path from 'node:path'
import type { Logger } from 'pino'
import { defaultRouteInterfaces, hostLinkStates, watchLinks } from '../host/link-events'
import { listPciDevices, type PciDevice } from '../host/pci'
import { watchUevents } from '../host/uevents'
import type { Options } from './cli'
import { ConfigError, parseConfig, type ResourceConfig } from './config'
import type { Metrics } from './metrics'
import { warmApi } from './api'
import { connectToKubeletEarly, dropEarlyClient, ResourceServer } from './resource-server'
import { assignDevices, discoveryNeeds } from './selectors'

const DEBOUNCE_MS = 50

export class DevicePlugin {
  resources: ResourceConfig[] = []
  readonly servers = new Map<string, ResourceServer>()
  private timers: NodeJS.Timeout[] = []
  private watchers: (() => void)[] = []
  private pending?: NodeJS.Timeout
  private running: Promise<void> = Promise.resolve()
  private stopped = false
  /** ms since process start at each start-up step, for the 'sriovdp started' log line */
  readonly startup: Record<string, number> = {}

  constructor(readonly opts: Options, readonly log: Logger, readonly metrics: Metrics) {}

  /** Reads the config file; throws ConfigError naming the resource and field. */
  loadConfig(): ResourceConfig[] {
    let text: string
    try {
      text = fs.readFileSync(this.opts.configFile, 'utf8')
    } catch (e) {
      throw new ConfigError(`cannot read config file ${this.opts.configFile}: ${(e as Error).message}`)
    }
    return parseConfig(text, this.opts.resourcePrefix)
  }

  /** `firstDiscovery`: a discovery pass already under way (main.ts starts one on a worker thread). */
  async start(firstDiscovery?: Promise<PciDevice[]>): Promise<void> {
    this.mark('loaded') // the daemon's modules are in
    this.resources = this.loadConfig()
    // while the first discovery runs: load the protos, warm their serializers, connect to kubelet
    warmApi()
    if (this.opts.registration === 'classic') connectToKubeletEarly(path.join(this.opts.devicePluginPath, 'kubelet.sock'))
    this.mark('prepared')
    try {
      await this.refresh(firstDiscovery)
    } finally {
      dropEarlyClient()
    }
    this.mark('served')
    this.watchers.push(watchLinks(() => this.schedule('link event')))
    this.watchers.push(watchUevents((e) => {
      if (e.subsystem === 'pci' || e.subsystem === 'net') this.schedule(`uevent ${e.action} ${e.devpath}`)
    }))
    this.watchFile(path.dirname(this.opts.configFile), () => this.reloadConfig())
    this.watchFile(this.kubeletDir(), (name) => this.onKubeletDirChange(name))
    this.timers.push(setInterval(() => this.schedule('periodic rescan'), this.opts.rescanSeconds * 1000))
  }

  private kubeletDir(): string {
    return this.opts.registration === 'watcher' ? this.opts.pluginsRegistryPath : this.opts.devicePluginPath
  }

  private watchFile(dir: string, fn: (name: string) => void): void {
    try {
      fs.mkdirSync(dir, { recursive: true })
      const w = fs.watch(dir, (_event, name) => fn(String(name ?? '')))
      w.on('error', (e) => this.log.warn({ dir, err: e.message }, 'watch failed; the periodic rescan still runs'))
      this.watchers.push(() => w.close())
    } catch (e) {
      this.log.warn({ dir, err: (e as Error).message }, 'cannot watch directory; the periodic rescan still runs')
    }
  }

  /** Several events in a burst make one refresh. */
  schedule(why: string): void {
    if (this.stopped || this.pending) return
    this.pending = setTimeout(() => {
      this.pending = undefined
      this.log.debug({ why }, 'refresh')
      this.running = this.running.then(() => this.refresh()).catch((e) => this.log.error({ err: (e as Error).message }, 'refresh failed'))
    }, DEBOUNCE_MS)
  }

  private reloadConfig(): void {
    try {
      const next = this.loadConfig()
      if (JSON.stringify(next) === JSON.stringify(this.resources)) return
      this.resources = next
      this.log.info({ resources: next.map((r) => `${r.resourcePrefix}/${r.resourceName}`) }, 'config reloaded')
      this.schedule('config change')
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'new config rejected; keeping the running one')
    }
  }

  private onKubeletDirChange(name: string): void {
    // kubelet restarting deletes our sockets and re-creates kubelet.sock: serve and register again
    if (name === 'kubelet.sock' || [...this.servers.values()].some((s) => s.socketMissing())) this.schedule('kubelet restart')
  }

  async refresh(discovery?: Promise<PciDevice[]>): Promise<void> {
    if (this.stopped) return
    const linkStates = hostLinkStates().catch(() => new Map()) // the kernel answers while sysfs is read
    const devices = discovery ? await discovery : listPciDevices(undefined, discoveryNeeds(this.resources))
    this.mark('discovered')
    const links = await linkStates
    const defaultRoute = await defaultRouteInterfaces(links).catch(() => new Set<string>())
    const vhostNetAvailable = fs.existsSync('/dev/vhost-net')
    const assigned = assignDevices(devices, this.resources, { vhostNetAvailable }, defaultRoute)
    const health = (d: PciDevice) => {
      // a VF is as healthy as its PF's link; a device with its own netdev also needs that link's carrier
      const pf = d.pfName ? links.get(d.pfName) : undefined
      if (pf && (!pf.up || !pf.carrier)) return false
      return true
    }
    for (const r of this.resources) {
      const name = `${r.resourcePrefix}/${r.resourceName}`
      const list = assigned.get(name) ?? []
      let server = this.servers.get(name)
      if (list.length === 0) {
        if (server) {
          this.log.info({ resource: name }, 'resource has no devices: stop serving')
          await server.stop()
          this.servers.delete(name)
        }
        continue
      }
      if (server && (server.socketMissing() || (this.opts.registration === 'classic' && !server.registered))) {
        await server.stop()
        this.servers.delete(name)
        server = undefined
      }
      if (!server) server = await this.serve(r)
      server.resource = r
      if (server.update(list, new Map(list.map((d) => [d.pci, health(d)])))) {
        this.log.info({ resource: name, devices: list.length }, 'device list updated')
      }
    }
    for (const [name, server] of this.servers) {
      if (!this.resources.some((r) => `${r.resourcePrefix}/${r.resourceName}` === name)) {
        await server.stop()
        this.servers.delete(name)
      }
    }
  }

  private mark(step: string): void {
    if (!this.startup.served) this.startup[step] ??= Math.round(performance.now())
  }

  private async serve(r: ResourceConfig): Promise<ResourceServer> {
    const name = `${r.resourcePrefix}/${r.resourceName}`
    const watcher = this.opts.registration === 'watcher'
    const socketPath = watcher
      ? path.join(this.opts.pluginsRegistryPath, `${r.resourcePrefix}_${r.resourceName}.sock`)
      : path.join(this.opts.devicePluginPath, `sriov_${r.resourcePrefix}_${r.resourceName}.sock`)
    const server = new ResourceServer(r, { socketPath, watcherMode: watcher, devinfoDir: this.opts.devinfoDir, policy: this.opts.allocationPolicy, log: this.log, metrics: this.metrics })
    await server.start()
    this.servers.set(name, server)
    if (!watcher) {
      try {
        this.mark('bound')
        await server.register(path.join(this.opts.devicePluginPath, 'kubelet.sock'))
        this.mark('registered')
        this.log.info({ resource: name, socket: socketPath }, 'registered with kubelet')
      } catch (e) {
        this.log.warn({ resource: name, err: (e as Error).message }, 'registration failed; retrying when kubelet.sock appears')
      }
    } else {
      this.log.info({ resource: name, socket: socketPath }, 'serving for the kubelet plugin watcher')
    }
    return server
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.pending) clearTimeout(this.pending)
    for (const t of this.timers) clearInterval(t)
    for (const w of this.watchers) w()
    await this.running.catch(() => {})
    for (const s of this.servers.values()) await s.stop()
    this.servers.clear()
  }
}
