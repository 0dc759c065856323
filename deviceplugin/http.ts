// /healthz, /metrics and /status over HTTP. They are never allowed to stop device serving: a port another
// process holds is logged and retried, and a failing handler answers 500.
import http from 'node:http'
import type { Logger } from 'pino'
import type { StateStore } from '../state/store'
import { explain } from './explain'
import type { Metrics } from './metrics'
import type { DevicePlugin } from './plugin'

const RETRY_MS = 1000
const MAX_RETRY_MS = 30000
// a scraper and two probes need a few connections; a request's headers come within seconds or never
const MAX_CONNECTIONS = 32
const HEADERS_TIMEOUT_MS = 5000
const REQUEST_TIMEOUT_MS = 10000
const IDLE_TIMEOUT_MS = 15000

export interface HttpEndpoint {
  close(): void
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, plugin: DevicePlugin, metrics: Metrics, store: StateStore): Promise<void> {
  if (req.url === '/healthz') {
    const broken = [...plugin.servers.values()].filter((s) => s.socketMissing()).map((s) => s.fullName)
    res.writeHead(broken.length ? 503 : 200, { 'content-type': 'text/plain' })
    res.end(broken.length ? `not serving: ${broken.join(', ')}\n` : 'ok\n')
  } else if (req.url === '/metrics') {
    const registry = metrics.registry
    const body = await registry.metrics()
    res.writeHead(200, { 'content-type': registry.contentType })
    res.end(body)
  } else if (req.url === '/status') {
    const attachments = (await store.listAttachments()).map((a) =>
      a.kind === 'ours'
        ? { deviceID: a.record.deviceID, containerId: a.record.containerId, ifname: a.record.ifname, netns: a.record.netns, network: a.record.netName, ips: a.record.ips }
        : { deviceID: a.raw.deviceID, containerId: a.containerId, ifname: a.ifname, writtenBy: 'sriov-cni' },
    )
    const resources = [...plugin.servers.values()].map((s) => ({ resource: s.fullName, registered: s.registered, devices: s.list() }))
    const explanation = plugin.view ? explain(plugin.view, plugin.resources, plugin.warnings) : undefined
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ resources, attachments, explain: explanation }, null, 2))
  } else {
    res.writeHead(404).end()
  }
}

/** Listens on host:port, retrying (1 s, doubling up to 30 s) while the port is taken; never throws. */
export function startHttp(host: string, port: number, plugin: DevicePlugin, metrics: Metrics, store: StateStore, log: Logger): HttpEndpoint {
  const server = http.createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1000 }, (req, res) => {
    answer(req, res, plugin, metrics, store).catch((e) => {
      if (!res.headersSent) res.writeHead(500)
      res.end((e as Error).message)
    })
  })
  // the port is open to the node's network: connections that never finish a request must not take the
  // daemon's descriptors (out of them, sysfs reads and kubelet's sockets fail), so they are few and short-lived
  server.maxConnections = MAX_CONNECTIONS
  server.setTimeout(IDLE_TIMEOUT_MS, (socket) => socket.destroy())
  let retry: NodeJS.Timeout | undefined
  let delay = RETRY_MS
  let closed = false
  server.on('error', (e: NodeJS.ErrnoException) => {
    if (closed) return
    // said at warn level once, then at debug while it goes on
    log[delay === RETRY_MS ? 'warn' : 'debug']({ host, port, err: e.message, retryInMs: delay }, 'HTTP endpoints cannot listen; devices are still served, retrying')
    retry = setTimeout(() => server.listening || listen(), delay) // an error while listening needs no retry
    delay = Math.min(delay * 2, MAX_RETRY_MS)
  })
  const listen = () => server.listen(port, host, () => log.info({ host, port }, 'HTTP endpoints listening'))
  listen()
  return {
    close() {
      closed = true
      clearTimeout(retry)
      server.close()
    },
  }
}
