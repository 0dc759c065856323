// IPAM for the sriov plugin: host-local runs in-process (no second exec per ADD); any other IPAM plugin is
// executed from CNI_PATH exactly as the spec says.
import * as hostLocal from '../ipam/host-local'
import { execPlugin, findPlugin } from '../protocol/delegate'
import type { CniEnv } from '../protocol/env'
import { parseNetConf } from '../protocol/netconf'
import type { Result } from '../protocol/result'
import { log } from './log'

/** The IPAM plugin's type; an `ipam` object without one (sriov-network-operator renders `{}`) means no IPAM. */
export function ipamType(netConf: Record<string, unknown>): string | undefined {
  const ipam = netConf.ipam as { type?: unknown } | undefined
  return typeof ipam?.type === 'string' && ipam.type ? ipam.type : undefined
}

// ADD reads the host-local config when it checks it and again in its IPAM step: parsed once (~0.3 ms a call)
let parsed: { key: string; cfg: hostLocal.HostLocalConfig } | undefined

function hostLocalConfig(netConf: Record<string, unknown>, env: CniEnv): hostLocal.HostLocalConfig {
  // what parseHostLocal reads: the same key, the same config
  const key = JSON.stringify([netConf.name, netConf.cniVersion, netConf.ipam, netConf.args, netConf.runtimeConfig, env.args.IP])
  if (parsed?.key !== key) parsed = { key, cfg: hostLocal.parseHostLocal(parseNetConf(JSON.stringify(netConf)), env) }
  return parsed.cfg
}

export async function ipamAdd(netConf: Record<string, unknown>, env: CniEnv): Promise<Result | undefined> {
  const type = ipamType(netConf)
  if (!type) return undefined
  if (type === 'host-local') return hostLocal.allocate(hostLocalConfig(netConf, env), env.containerId, env.ifname)
  return execPlugin(type, 'ADD', netConf, env)
}

/** ADD checks the IPAM config before anything changes: a config the IPAM step would refuse changes nothing. */
export function ipamPrecheck(netConf: Record<string, unknown>, env: CniEnv): void {
  const type = ipamType(netConf)
  if (!type) return
  if (type === 'host-local') hostLocalConfig(netConf, env)
  else findPlugin(type, env.path)
}

/** Whether host-local will assign an IPv6 address (a delegated plugin's answer is not known before it runs). */
export function ipamHasIpv6(netConf: Record<string, unknown>, env: CniEnv): boolean {
  return ipamType(netConf) === 'host-local' && hostLocalConfig(netConf, env).rangeSets.some((set) => set[0].rangeStart.family === 6)
}

/**
 * Releases what IPAM holds for the attachment. It never fails forever on what cannot change: host-local
 * needs only the store's location; a delegated plugin that is not installed (any more) has nothing to run.
 */
export async function ipamDel(netConf: Record<string, unknown>, env: CniEnv): Promise<void> {
  const type = ipamType(netConf)
  if (!type) return
  if (type === 'host-local') {
    const where = hostLocal.leaseStoreOf(parseNetConf(JSON.stringify(netConf)))
    if (where) await hostLocal.release(where, env.containerId, env.ifname)
    return
  }
  try {
    findPlugin(type, env.path)
  } catch (e) {
    log('warning', `IPAM plugin ${type} cannot be run, so nothing it holds can be released`, { err: (e as Error).message })
    return
  }
  await execPlugin(type, 'DEL', netConf, env)
}

export async function ipamCheck(netConf: Record<string, unknown>, env: CniEnv): Promise<void> {
  const type = ipamType(netConf)
  if (!type) return
  if (type === 'host-local') return hostLocal.check(hostLocalConfig(netConf, env), env.containerId, env.ifname)
  await execPlugin(type, 'CHECK', netConf, env)
}

/** GC with the list the caller read once: a delegated plugin gets it under the spec 1.1 key. */
export async function ipamGc(netConf: Record<string, unknown>, env: CniEnv, valid: { containerID: string; ifname: string }[]): Promise<void> {
  const type = ipamType(netConf)
  if (!type) return
  if (type === 'host-local') {
    await hostLocal.gc(hostLocalConfig(netConf, env), valid)
    return
  }
  const { 'cni.dev/attachments': _old, ...rest } = netConf
  await execPlugin(type, 'GC', { ...rest, 'cni.dev/valid-attachments': valid }, env)
}

export async function ipamStatus(netConf: Record<string, unknown>, env: CniEnv): Promise<void> {
  const type = ipamType(netConf)
  if (!type) return
  if (type === 'host-local') return hostLocal.status(hostLocalConfig(netConf, env))
  await execPlugin(type, 'STATUS', netConf, env)
}
