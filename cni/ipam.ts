// IPAM for the sriov plugin: host-local runs in-process (no second exec per ADD); any other IPAM plugin is
// executed from CNI_PATH exactly as the spec says.
import * as hostLocal from '../ipam/host-local'
import { execPlugin } from '../protocol/delegate'
import type { CniEnv } from '../protocol/env'
import { parseNetConf } from '../protocol/netconf'
import type { Result } from '../protocol/result'

/** The IPAM plugin's type; an `ipam` object without one (sriov-network-operator renders `{}`) means no IPAM. */
export function ipamType(netConf: Record<string, unknown>): string | undefined {
  const ipam = netConf.ipam as { type?: unknown } | undefined
  return typeof ipam?.type === 'string' && ipam.type ? ipam.type : undefined
}

function hostLocalConfig(netConf: Record<string, unknown>, env: CniEnv) {
  return hostLocal.parseHostLocal(parseNetConf(JSON.stringify(netConf)), env)
}

export async function ipamAdd(netConf: Record<string, unknown>, env: CniEnv): Promise<Result | undefined> {
  const type = ipamType(netConf)
  if (!type) return undefined
  if (type === 'host-local') return hostLocal.allocate(hostLocalConfig(netConf, env), env.containerId, env.ifname)
  return execPlugin(type, 'ADD', netConf, env)
}

export async function ipamDel(netConf: Record<string, unknown>, env: CniEnv): Promise<void> {
  const type = ipamType(netConf)
  if (!type) return
  if (type === 'host-local') return hostLocal.release(hostLocalConfig(netConf, env), env.containerId, env.ifname)
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
