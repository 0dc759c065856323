// --http-addr as Go's net.SplitHostPort reads it: `host:port`, `:port` (every address), `[v6]:port`. A bad
// value is a start-up error naming the flag, never an exception thrown by listen() once devices are served.
import net from 'node:net'

const HOSTNAME = /^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/

/** `{host, port}`, or what is wrong with `value` (to follow it in a sentence). */
export function parseListenAddress(value: string): { host: string; port: number } | string {
  const m = /^(?:\[([^\]]*)\]|([^[\]]*)):(\d{1,5})$/.exec(value)
  if (!m) return 'must be host:port, :port or [IPv6 address]:port'
  const port = Number(m[3])
  if (port > 65535) return `has port ${port}; ports run from 0 to 65535`
  if (m[1] !== undefined) return net.isIPv6(m[1]) ? { host: m[1], port } : `has ${JSON.stringify(m[1])} in brackets, which is no IPv6 address`
  const host = m[2]
  if (host === '') return { host: '0.0.0.0', port }
  const notAHost = `has ${JSON.stringify(host)}, which is no IP address or host name`
  if (host.includes(':')) return /^[0-9A-Fa-f:.]+$/.test(host) ? 'has an IPv6 address without brackets: write it as [address]:port' : notAHost
  if (!net.isIPv4(host) && (!HOSTNAME.test(host) || /^[\d.]+$/.test(host))) return notAHost
  return { host, port }
}
