// Prometheus metrics of the device plugin (prom-client), served on /metrics.
import { Counter, Gauge, Registry } from 'prom-client'
import type { Device } from './api'

export class Metrics {
  readonly registry = new Registry()
  readonly deviceGauge = new Gauge({ name: 'sriovdp_devices', help: 'Devices per resource and health', labelNames: ['resource', 'health'], registers: [this.registry] })
  readonly allocations = new Counter({ name: 'sriovdp_allocations_total', help: 'Containers given devices by Allocate', labelNames: ['resource'], registers: [this.registry] })
  readonly registrations = new Counter({ name: 'sriovdp_registrations_total', help: 'Successful registrations with kubelet', labelNames: ['resource'], registers: [this.registry] })
  readonly streamSends = new Counter({ name: 'sriovdp_listandwatch_sends_total', help: 'Device lists sent on ListAndWatch streams', labelNames: ['resource'], registers: [this.registry] })
  readonly repairs = new Counter({ name: 'sriovdp_reconciler_repairs_total', help: 'Attachments of dead pods undone by the reconciler', labelNames: ['result'], registers: [this.registry] })

  devices(resource: string, list: Device[]): void {
    this.deviceGauge.set({ resource, health: 'Healthy' }, list.filter((d) => d.health === 'Healthy').length)
    this.deviceGauge.set({ resource, health: 'Unhealthy' }, list.filter((d) => d.health === 'Unhealthy').length)
  }
}
