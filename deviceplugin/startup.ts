// What sriovdp does only so that kubelet gets the first device lists sooner; nothing else depends on it, and
// each part can go without changing what is served. Measured with bench/dp.mjs (1,024 VFs, 3 rounds of 11
// starts, start to first ListAndWatch list p50 ~270 ms against the goal of 300 ms), each one left out costs:
// the discovery worker ~80 ms, prom-client loaded later ~30 ms, the early kubelet client ~25 ms, the warmed
// serializers ~18 ms. This module is imported by main.ts before gRPC loads: it loads gRPC only when called.
import fs = require('node:fs')
import type * as grpc from '@grpc/grpc-js'
import type { Logger } from 'pino'
import { discoverInBackground } from '../host/discovery'
import type { PciDevice } from '../host/pci'
import { readRegularFile } from '../host/open-regular'
import type { ServiceCtor } from './api'
import type { Options } from './cli'
import { parseConfig } from './config'
import type { Metrics } from './metrics'
import { discoveryNeeds } from './selectors'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const grpcJs = () => require('@grpc/grpc-js') as typeof grpc
// eslint-disable-next-line @typescript-eslint/no-require-imports
const apis = () => (require('./api') as typeof import('./api')).api()

/**
 * The first discovery pass on a worker thread, started before the daemon's heavy modules (gRPC, protobuf,
 * pino, prom-client) load, so that both happen at once; with what the config's selectors need, and none for a
 * config the daemon will reject anyway.
 */
export function startDiscovery(opts: Options): Promise<PciDevice[]> | undefined {
  let resources
  try {
    resources = parseConfig(readRegularFile(opts.configFile), opts.resourcePrefix)
  } catch {
    return undefined
  }
  return discoverInBackground(discoveryNeeds(resources))
}

/**
 * Runs each start-up message type through its serializer once: protobufjs generates a type's encoder on
 * first use, which would otherwise happen on the first device list (~10 ms for 1,024).
 */
export function warmApi(): void {
  const { DevicePlugin, Registration } = apis()
  const service = (c: ServiceCtor) => c.service as unknown as Record<string, { requestSerialize(v: unknown): Buffer; responseSerialize(v: unknown): Buffer }>
  service(DevicePlugin).ListAndWatch.responseSerialize({ devices: [{ ID: '0000:00:00.0', health: 'Healthy', topology: { nodes: [{ ID: 0 }] } }] })
  service(DevicePlugin).GetDevicePluginOptions.responseSerialize({ pre_start_required: false, get_preferred_allocation_available: true })
  service(Registration).Register.requestSerialize({ version: 'v1beta1', endpoint: 'warm.sock', resource_name: 'warm/warm', options: {} })
}

type RegistrationClient = InstanceType<ReturnType<typeof apis>['Registration']>
let early: { socket: string; client: RegistrationClient } | undefined

/**
 * Starts connecting a Registration client to kubelet.sock while discovery still runs; the first registration
 * then uses it instead of connecting. Later ones (after a kubelet restart) connect afresh, never through a
 * channel that may be backing off from the old kubelet.
 */
export function connectToKubeletEarly(kubeletSocket: string): void {
  if (early || !fs.existsSync(kubeletSocket)) return
  const client = new (apis().Registration)(`unix://${kubeletSocket}`, grpcJs().credentials.createInsecure())
  client.waitForReady(Date.now() + 5000, () => {}) // only starts the connection; Register waits for it anyway
  early = { socket: kubeletSocket, client }
}

/** Closes the early client when no resource registered through it (none had devices). */
export function dropEarlyClient(): void {
  early?.client.close()
  early = undefined
}

/** The early client, once, for the first registration on `kubeletSocket`. */
export function takeEarlyClient(kubeletSocket: string): RegistrationClient | undefined {
  if (early?.socket !== kubeletSocket) {
    dropEarlyClient()
    return undefined
  }
  const { client } = early
  early = undefined
  return client
}

/**
 * prom-client loads a second after start-up, not while kubelet connects back for the first lists; what was
 * recorded before is replayed (Metrics keeps it), and /metrics scraped earlier loads it at once.
 */
export function loadMetricsLater(metrics: Metrics, log: Logger): void {
  setTimeout(() => metrics.tryLoad() || log.error({ err: metrics.failed }, 'metrics unavailable; devices are still served'), 1000).unref()
}
