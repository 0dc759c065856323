// A chained plugin passes its prevResult through with its own additions.
import type { Result } from '../protocol/result'

/** `prev` followed by `ours`; our IPs' interface indexes shift past the interfaces `prev` already has. */
export function mergePrevResult(prev: Result | undefined, ours: Result): Result {
  if (!prev) return ours
  const offset = prev.interfaces?.length ?? 0
  return {
    cniVersion: ours.cniVersion,
    interfaces: [...(prev.interfaces ?? []), ...(ours.interfaces ?? [])],
    ips: [...(prev.ips ?? []), ...(ours.ips ?? []).map((ip) => ({ ...ip, interface: (ip.interface ?? 0) + offset }))],
    routes: [...(prev.routes ?? []), ...(ours.routes ?? [])],
    ...(ours.dns ?? prev.dns ? { dns: ours.dns ?? prev.dns } : {}),
  }
}
