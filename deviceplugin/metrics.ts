// Prometheus metrics of the device plugin (prom-client), served on /metrics. prom-client is loaded once the
// first device lists are served (it costs start-up ~10 ms); what happens before is recorded and replayed.
import type { Counter, Gauge, Registry } from 'prom-client'
import type { Device } from './api'

interface Collectors {
  registry: Registry
  devices: Gauge
  allocations: Counter
  registrations: Counter
  streamSends: Counter
  repairs: Counter
}

// start-up records a handful of events; a program that never loads would otherwise queue forever
const MAX_QUEUED = 1000

const HEALTH = ['Healthy', 'Unhealthy'] as const

export class Metrics {
  private collectors?: Collectors
  private queued: ((c: Collectors) => void)[] = []
  /** why prom-client could not be loaded; metrics are then dropped, devices are still served */
  failed?: string

  /** prom-client is loaded and recording goes straight into the registry. */
  get loaded(): boolean {
    return this.collectors !== undefined
  }

  /** The registry that /metrics serves (loads prom-client on first use). */
  get registry(): Registry {
    return this.load().registry
  }

  /** Loads prom-client, creates the metrics and applies everything recorded so far. */
  load(): Collectors {
    if (this.collectors) return this.collectors
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const prom = require('prom-client') as typeof import('prom-client')
    const registry = new prom.Registry()
    const registers = [registry]
    const c: Collectors = {
      registry,
      devices: new prom.Gauge({ name: 'sriovdp_devices', help: 'Devices per resource and health', labelNames: ['resource', 'health'], registers }),
      allocations: new prom.Counter({ name: 'sriovdp_allocations_total', help: 'Containers given devices by Allocate', labelNames: ['resource'], registers }),
      registrations: new prom.Counter({ name: 'sriovdp_registrations_total', help: 'Successful registrations with kubelet', labelNames: ['resource'], registers }),
      streamSends: new prom.Counter({ name: 'sriovdp_listandwatch_sends_total', help: 'Device lists sent on ListAndWatch streams', labelNames: ['resource'], registers }),
      repairs: new prom.Counter({ name: 'sriovdp_reconciler_repairs_total', help: 'Attachments of dead pods undone by the reconciler', labelNames: ['result'], registers }),
    }
    this.collectors = c
    const queued = this.queued
    this.queued = []
    for (const q of queued) this.record(q)
    return c
  }

  /** Loads prom-client now; false (with `failed` set) when it cannot be loaded. */
  tryLoad(): boolean {
    try {
      this.load()
      return true
    } catch (e) {
      this.failed = (e as Error).message
      this.queued = []
      return false
    }
  }

  // recording a metric must never throw into the code serving devices
  private record(fn: (c: Collectors) => void): void {
    if (this.failed) return
    if (!this.collectors) {
      this.queued.push(fn)
      if (this.queued.length >= MAX_QUEUED) this.tryLoad()
      return
    }
    try {
      fn(this.collectors)
    } catch {
      /* a metric lost */
    }
  }

  /** Drops every series of a resource no longer configured, so that reloads do not accumulate them. */
  forget(resource: string): void {
    this.record((c) => {
      for (const health of HEALTH) c.devices.remove({ resource, health })
      for (const m of [c.allocations, c.registrations, c.streamSends]) m.remove({ resource })
    })
  }

  devices(resource: string, list: Device[]): void {
    const healthy = list.filter((d) => d.health === 'Healthy').length
    this.record((c) => {
      c.devices.set({ resource, health: HEALTH[0] }, healthy)
      c.devices.set({ resource, health: HEALTH[1] }, list.length - healthy)
    })
  }

  allocated(resource: string, containers: number): void {
    this.record((c) => c.allocations.inc({ resource }, containers))
  }

  registered(resource: string): void {
    this.record((c) => c.registrations.inc({ resource }))
  }

  sent(resource: string): void {
    this.record((c) => c.streamSends.inc({ resource }))
  }

  repaired(result: 'repaired' | 'failed'): void {
    this.record((c) => c.repairs.inc({ result }))
  }
}
