// /healthz, /metrics and /status over HTTP.
import http from 'node:http'
import type { StateStore } from '../state/store'
import type { Metrics } from './metrics'
import type { DevicePlugin } from './plugin'

export function startHttp(host: string, port: number, plugin: DevicePlugin, metrics: Metrics, store: StateStore): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    try {
      if (req.url === '/healthz') {
        const broken = [...plugin.servers.values()].filter((s) => s.socketMissing()).map((s) => s.fullName)
        res.writeHead(broken.length ? 503 : 200, { 'content-type': 'text/plain' })
        res.end(broken.length ? `not serving: ${broken.join(', ')}\n` : 'ok\n')
      } else if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType })
        res.end(await metrics.registry.metrics())
      } else if (req.url === '/status') {
        const attachments = (await store.listAttachments()).map((a) =>
          a.kind === 'ours'
            ? { deviceID: a.record.deviceID, containerId: a.record.containerId, ifname: a.record.ifname, netns: a.record.netns, network: a.record.netName, ips: a.record.ips }
            : { deviceID: a.raw.deviceID, containerId: a.containerId, ifname: a.ifname, writtenBy: 'sriov-cni' },
        )
        const resources = [...plugin.servers.values()].map((s) => ({ resource: s.fullName, registered: s.registered, devices: s.list() }))
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ resources, attachments }, null, 2))
      } else {
        res.writeHead(404).end()
      }
    } catch (e) {
      res.writeHead(500).end((e as Error).message)
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
