// The daemon's core: discover, assign devices to resources, keep one server per non-empty resource, and
// react to changes (link events, PCI uevents, config edits, kubelet restarts) within a second; a periodic
// rescan is only a safety net. kubelet is never told a list that is not the plugin's current view: a socket
// is served only once its resource's device list is set.
import fs = require('node:fs')
import path = require('node:path')
import type { Logger } from 'pino'
import { watchLinks } from '../host/link-events'
import { readDdpProfiles } from '../host/ddp'
import { listPciDevices, type PciDevice } from '../host/pci'
import { NativeAddonError } from '../host/native'
import { watchUevents } from '../host/uevents'
import { vhostNodes } from '../host/vhost-net'
import { CdiSpecs } from './cdi'
import type { Options } from './cli'
import { ConfigError, fullName, parseConfig, type ResourceConfig } from './config'
import { unhealthyBecause } from './health'
import { socketIdentity } from './kubelet-socket'
import { observeNode, type NodeView } from './node-view'
import { socketPath as pluginSocketPath } from './plugin-socket'
import type { Metrics } from './metrics'
import { ResourceServer } from './resource-server'
import { connectToKubeletEarly, dropEarlyClient, warmApi } from './startup'
import { assignDevices, discoveryNeeds } from './selectors'
import { makeDirs } from '../host/make-dirs'
import { readRegularFile } from '../host/open-regular'

// a reload that moves devices between resources lists them under the new one this long after the old one let go
const MOVE_SETTLE_MS = 50

const DEBOUNCE_MS = 50
// kubelet.sock is also checked this often, in case the directory watch misses its replacement
const KUBELET_CHECK_MS = 1000
// a config written in place (not renamed into place) is complete within this long of its first event
const REJECTION_DELAY_MS = 300

// PCI functions, netdevs, and what sits on them: RDMA devices and their char devices, vDPA devices and
// their vhost-vdpa nodes, sub-functions on the auxiliary bus, vfio group nodes
const WATCHED_SUBSYSTEMS = new Set(['pci', 'net', 'infiniband', 'infiniband_verbs', 'infiniband_mad', 'vdpa', 'vhost-vdpa', 'auxiliary', 'vfio'])

interface DirWatch {
  dir: string
  fn: (name: string) => void
  /** device and inode of the directory watched; undefined while there is none */
  id?: string
  close?: () => void
}

function dirIdentity(dir: string): string | undefined {
  try {
    const st = fs.statSync(dir)
    return `${st.dev}:${st.ino}`
  } catch {
    return undefined
  }
}

export class DevicePlugin {
  resources: ResourceConfig[] = []
  /** the config's warnings (unknown keys), as of the config in use */
  warnings: string[] = []
  /** what the last refresh saw of the node, for /status's explanation */
  view?: NodeView
  readonly servers = new Map<string, ResourceServer>()
  /** --use-cdi: the spec files, one per resource with devices */
  readonly cdi?: CdiSpecs
  private timers: NodeJS.Timeout[] = []
  private watchers: (() => void)[] = []
  private dirWatches: DirWatch[] = []
  /** the rejection of a config text, said once it is still the file's a moment later */
  private rejection?: NodeJS.Timeout
  private pending?: NodeJS.Timeout
  private running: Promise<void> = Promise.resolve()
  /** the registrations the last refresh started (none fails: a failure is logged and retried) */
  private registrations: Promise<void> = Promise.resolve()
  private stopped = false
  private kubeletSeen?: string
  /** the config file's text last read, used or rejected */
  private configText?: string
  /** why the config file cannot be read, while it cannot */
  private unreadable?: string
  /** resources that have metric series: those dropped from the config get theirs removed */
  private measured = new Set<string>()
  /** resources whose last registration failed */
  private failing = new Set<string>()
  /** the kinds of events whose loss was already logged at warn level */
  private lossSaid = new Set<string>()
  /** what was last logged about DDP profiles, so that a rescan does not repeat it */
  private ddpSaid?: string
  /** ms since process start at each start-up step, for the 'sriovdp started' log line */
  readonly startup: Record<string, number> = {}

  constructor(readonly opts: Options, readonly log: Logger, readonly metrics: Metrics) {
    if (opts.cdiSpecDir) this.cdi = new CdiSpecs(opts.cdiSpecDir)
  }

  /** Reads the config file; throws ConfigError naming the resource and field. */
  loadConfig(warnings: string[] = []): ResourceConfig[] {
    this.configText = this.readConfig()
    return parseConfig(this.configText, this.opts.resourcePrefix, warnings)
  }

  private readConfig(): string {
    try {
      return readRegularFile(this.opts.configFile)
    } catch (e) {
      throw new ConfigError(`cannot read config file ${this.opts.configFile}: ${(e as Error).message}`)
    }
  }

  private get kubeletSocket(): string {
    return path.join(this.opts.devicePluginPath, 'kubelet.sock')
  }

  /** `firstDiscovery`: a discovery pass already under way (main.ts starts one on a worker thread). */
  async start(firstDiscovery?: Promise<PciDevice[]>): Promise<void> {
    this.mark('loaded') // the daemon's modules are in
    this.resources = this.loadConfig(this.warnings)
    for (const w of this.warnings) this.log.warn({ config: this.opts.configFile }, w)
    // while the first discovery runs: load the protos, warm their serializers, connect to kubelet
    warmApi()
    if (this.opts.registration === 'classic') connectToKubeletEarly(this.kubeletSocket)
    this.kubeletSeen = socketIdentity(this.kubeletSocket)
    this.mark('prepared')
    // watched before the first pass: kubelet may have its list, and the node change, before start() returns;
    // what happens meanwhile makes one more pass, queued behind the first
    this.watchEvents('link events', () => watchLinks(() => this.schedule('link event'), (lost) => this.eventsLost('link events', lost)))
    this.cdi?.removeAll() // an earlier run's specs may name devices that are gone
    this.watchEvents('uevents', () => watchUevents((e) => {
      if (WATCHED_SUBSYSTEMS.has(e.subsystem)) this.schedule(`uevent ${e.action} ${e.devpath}`)
    }, (lost) => this.eventsLost('uevents', lost)))
    try {
      this.running = this.refresh(firstDiscovery)
      await this.running
      await this.registrations // the start-up log says when registration was done; later refreshes do not wait
    } finally {
      dropEarlyClient()
    }
    this.mark('served')
    this.watchDir(path.dirname(this.opts.configFile), () => this.reloadConfig())
    // kubelet.sock lives in the device-plugins directory in both registration modes
    this.watchDir(this.opts.devicePluginPath, (name) => this.onKubeletDirChange(name))
    if (this.opts.registration === 'watcher') this.watchDir(this.opts.pluginsRegistryPath, (name) => this.onKubeletDirChange(name))
    this.timers.push(setInterval(() => {
      this.checkDirs()
      this.checkKubelet()
    }, KUBELET_CHECK_MS))
    this.timers.push(setInterval(() => {
      this.reloadConfig() // a missed watch event costs one period at most
      this.schedule('periodic rescan')
    }, this.opts.rescanSeconds * 1000))
    // what changed while start-up ran, before the watches existed
    this.reloadConfig()
    this.checkKubelet()
  }

  private watchEvents(what: string, watch: () => () => void): void {
    try {
      this.watchers.push(watch())
    } catch (e) {
      if (e instanceof NativeAddonError) throw e // the daemon cannot work at all: exit saying why
      this.log.warn({ err: (e as Error).message }, `cannot watch ${what}; the periodic rescan still runs`)
    }
  }

  /** Events arrived faster than they were read and some were lost: what they said is read anew by a rescan. */
  private eventsLost(what: string, lost?: number): void {
    // said once at warn level, then at debug: a flood loses events at every turn
    this.log[this.lossSaid.has(what) ? 'debug' : 'warn']({ lost }, `${what} lost (receive buffer full): rescanning everything`)
    this.lossSaid.add(what)
    this.schedule(`${what} lost`)
  }

  private watchDir(dir: string, fn: (name: string) => void): void {
    try {
      makeDirs(dir, 0o755)
    } catch (e) {
      this.log.warn({ dir, err: (e as Error).message }, 'cannot create directory; the periodic rescan still runs')
    }
    const w: DirWatch = { dir, fn }
    this.dirWatches.push(w)
    this.arm(w)
    this.watchers.push(() => w.close?.())
  }

  /** Watches `w.dir` as it is now; a directory that is not there is watched once it is back (checkDirs). */
  private arm(w: DirWatch): void {
    w.close?.()
    w.close = undefined
    w.id = dirIdentity(w.dir)
    if (w.id === undefined) return
    try {
      const watcher = fs.watch(w.dir, (_event, name) => w.fn(String(name ?? '')))
      watcher.on('error', (e) => this.log.warn({ dir: w.dir, err: e.message }, 'watch failed; the periodic rescan still runs'))
      w.close = () => watcher.close()
    } catch (e) {
      this.log.warn({ dir: w.dir, err: (e as Error).message }, 'cannot watch directory; the periodic rescan still runs')
    }
  }

  /** A watch follows its directory's inode: one replaced (renamed away, made anew) is watched again, and read. */
  private checkDirs(): void {
    for (const w of this.dirWatches) {
      if (dirIdentity(w.dir) === w.id) continue
      this.log.info({ dir: w.dir }, 'directory replaced: watching the new one')
      this.arm(w)
      w.fn('')
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
    let text: string
    try {
      text = this.readConfig()
    } catch (e) {
      // every event in the directory lands here while the file is missing: said once per situation, or the
      // log line itself (when the log is a file in that directory) would make the next event, and so forever
      const err = (e as Error).message
      if (err !== this.unreadable) this.log.error({ err }, 'config file unreadable; keeping the running config')
      this.unreadable = err
      return
    }
    if (this.unreadable !== undefined) this.log.info({ config: this.opts.configFile }, 'config file readable again')
    this.unreadable = undefined
    if (text === this.configText) return // the same file: nothing new to apply or to complain about
    this.configText = text
    try {
      const warnings: string[] = []
      const next = parseConfig(text, this.opts.resourcePrefix, warnings)
      if (JSON.stringify(next) === JSON.stringify(this.resources)) return
      this.resources = next
      this.warnings = warnings
      for (const w of warnings) this.log.warn({ config: this.opts.configFile }, w)
      this.log.info({ resources: next.map(fullName) }, 'config reloaded')
      this.schedule('config change')
    } catch (e) {
      // a file written in place is read half-written first: rejected only if the same text is still there
      // a moment later (a complete one makes another event and replaces configText)
      const err = (e as Error).message
      clearTimeout(this.rejection)
      this.rejection = setTimeout(() => {
        if (this.configText === text && !this.stopped) this.log.error({ err }, 'new config rejected; keeping the running one')
      }, REJECTION_DELAY_MS)
    }
  }

  private onKubeletDirChange(name: string): void {
    if (name === 'kubelet.sock') this.checkKubelet()
    // a kubelet that restarts may delete our sockets: serve them again
    else if ([...this.servers.values()].some((s) => s.socketMissing())) this.schedule('plugin socket deleted')
  }

  /** A new kubelet.sock means a new kubelet: serve and register every resource again. Runs every second. */
  private checkKubelet(): void {
    const id = socketIdentity(this.kubeletSocket)
    if (id !== this.kubeletSeen) {
      this.kubeletSeen = id
      if (id) this.schedule('kubelet.sock replaced')
    } else if (id && this.opts.registration === 'classic' && [...this.servers.values()].some((s) => !s.registered && !s.registering)) {
      this.schedule('registration retry')
    } else if ([...this.servers.values()].some((s) => s.socketMissing())) {
      this.schedule('plugin socket deleted') // also when its whole directory was replaced, which no watch reports
    }
  }

  async refresh(discovery?: Promise<PciDevice[]>): Promise<void> {
    if (this.stopped) return
    const kubelet = socketIdentity(this.kubeletSocket)
    // one config for the whole pass: a reload meanwhile (while a withdrawal is written) is the next pass's
    const resources = this.resources
    const needs = discoveryNeeds(resources)
    const view = await observeNode(async () => this.withDdp(await (discovery ?? listPciDevices(undefined, needs)), needs.ddp), () => this.mark('discovered'))
    this.view = view
    const { links } = view
    const assigned = assignDevices(view.devices, resources, view.defaultRoute)
    // a device that changes resource leaves the old one's list before the new one lists it (a reload)
    const owner = new Map<string, string>()
    for (const [name, list] of assigned) for (const d of list) owner.set(d.pci, name)
    const withdrawn = await Promise.all([...this.servers].map(([name, server]) => server.withdraw((pci) => owner.get(pci) === name)))
    // kubelet reads each resource's stream on its own: a moment to read the shorter lists before the longer ones
    if (withdrawn.flat().some((pci) => owner.has(pci))) await new Promise((r) => setTimeout(r, MOVE_SETTLE_MS))
    const registrations: Promise<void>[] = []
    for (const r of resources) {
      const name = fullName(r)
      const list = assigned.get(name) ?? []
      this.measured.add(name)
      let server = this.servers.get(name)
      if (list.length === 0) {
        this.cdi?.remove(r)
        if (server) {
          this.log.info({ resource: name }, 'resource has no devices: stop serving')
          await server.stop()
          this.servers.delete(name)
        }
        this.metrics.devices(name, [])
        continue
      }
      const health = new Map(list.map((d) => [d.pci, unhealthyBecause(d, links) === undefined]))
      // the spec exists before kubelet hears of a device it names
      this.writeCdiSpec(r, list)
      // a new kubelet that has not registered this socket yet: serve it anew, which kubelet notices in both
      // modes (Register; a socket created in plugins_registry); one that already did keeps its connection
      if (server && (server.socketMissing() || (kubelet !== undefined && server.kubelet !== undefined && server.kubelet !== kubelet))) {
        this.log.info({ resource: name, socketMissing: server.socketMissing() }, 'kubelet restarted: serving anew')
        await server.stop()
        this.servers.delete(name)
        server = undefined
      }
      if (!server) {
        server = await this.serve(r, list, health)
      } else {
        server.resource = r
        if (server.update(list, health)) this.log.info({ resource: name, devices: list.length }, 'device list updated')
      }
      // side by side, each with its own deadline: a kubelet that never answers one holds up none of the others
      if (this.opts.registration === 'classic' && !server.registered && !server.registering) registrations.push(this.register(server))
    }
    for (const [name, server] of this.servers) {
      if (!resources.some((r) => fullName(r) === name)) {
        this.cdi?.remove(server.resource)
        await server.stop()
        this.servers.delete(name)
      }
    }
    for (const name of this.measured) {
      if (resources.some((r) => fullName(r) === name)) continue
      this.metrics.forget(name)
      this.measured.delete(name)
    }
    this.registrations = Promise.all(registrations).then(() => {})
  }

  /** Adds the DDP profiles when a ddpProfiles selector needs them, and says once what could not be read. */
  private async withDdp(devices: PciDevice[], needed: boolean): Promise<PciDevice[]> {
    if (!needed) return devices
    const failure = await readDdpProfiles(devices)
    const profiles = new Set(devices.map((d) => d.ddpProfile).filter(Boolean))
    const said = failure ? `DDP profiles cannot be read (${failure}): ddpProfiles selectors match nothing` : `DDP profiles reported by the kernel: ${[...profiles].join(', ') || 'none'}; devices without one (i40e needs Intel's ddptool, which sriovdp does not run) match no ddpProfiles selector`
    if (said !== this.ddpSaid) this.log.warn({ profiles: [...profiles] }, said)
    this.ddpSaid = said
    return devices
  }

  /** A spec that cannot be written is logged; the devices are still served (Allocate then says why it fails). */
  private writeCdiSpec(r: ResourceConfig, list: PciDevice[]): void {
    try {
      this.cdi?.write(r, list, vhostNodes())
    } catch (e) {
      this.log.error({ resource: fullName(r), dir: this.opts.cdiSpecDir, err: (e as Error).message }, 'cannot write the CDI spec')
    }
  }

  private mark(step: string): void {
    if (!this.startup.served) this.startup[step] ??= Math.round(performance.now())
  }

  /** A server whose ListAndWatch answers `list` from the first call on: the list is set before the socket exists. */
  private async serve(r: ResourceConfig, list: PciDevice[], health: Map<string, boolean>): Promise<ResourceServer> {
    const name = fullName(r)
    const watcher = this.opts.registration === 'watcher'
    const socketPath = watcher
      ? pluginSocketPath(this.opts.pluginsRegistryPath, `${r.resourcePrefix}_${r.resourceName}`, name)
      : pluginSocketPath(this.opts.devicePluginPath, `sriov_${r.resourcePrefix}_${r.resourceName}`, name)
    const server = new ResourceServer(r, { socketPath, kubeletSocket: this.kubeletSocket, watcherMode: watcher, devinfoDir: this.opts.devinfoDir, policy: this.opts.allocationPolicy, ...(this.cdi ? { cdi: this.cdi } : {}), log: this.log, metrics: this.metrics })
    server.update(list, health)
    await server.start()
    this.servers.set(name, server)
    this.mark('bound')
    this.log.info({ resource: name, socket: socketPath, devices: list.length }, watcher ? 'serving for the kubelet plugin watcher' : 'serving')
    return server
  }

  /** Classic registration; a failure is retried once kubelet.sock exists (checked every second). */
  private async register(server: ResourceServer): Promise<void> {
    try {
      await server.register()
      if (server.stopped) return // a reload took the resource away meanwhile
      this.failing.delete(server.fullName)
      this.mark('registered')
      this.log.info({ resource: server.fullName }, 'registered with kubelet')
    } catch (e) {
      if (server.stopped) return // a reload took the resource away meanwhile
      // retried every second while kubelet is away: said once, then at debug level
      const level = this.failing.has(server.fullName) ? 'debug' : 'warn'
      this.failing.add(server.fullName)
      this.log[level]({ resource: server.fullName, err: (e as Error).message }, 'registration failed; retrying while kubelet.sock exists')
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.pending) clearTimeout(this.pending)
    clearTimeout(this.rejection)
    for (const t of this.timers) clearInterval(t)
    for (const w of this.watchers) w()
    await this.running.catch(() => {})
    for (const s of this.servers.values()) await s.stop()
    this.servers.clear()
    this.cdi?.removeAll()
  }
}
