// host-local IPAM in-process: ADD, DEL, CHECK and GC against the reference-compatible lease store.
import { CniError, ErrorCode } from '../protocol/errors'
import fs = require('node:fs')
import path = require('node:path')
import { validateContainerId, validateIfname } from '../protocol/names'
import type { Result } from '../protocol/result'
import { allocateFromSet } from './allocator'
import type { HostLocalConfig, LeaseStoreLocation } from './host-local-config'
import { formatIP, type IP } from '../protocol/ip'
import { LeaseStore } from './lease-store'
import { rangeSetContains } from './range'
import { readResolvConf } from './resolv-conf'

export { leaseStoreOf, parseHostLocal, type HostLocalConfig } from './host-local-config'

function checkIds(containerId: string, ifname: string): void {
  validateContainerId(containerId)
  validateIfname(ifname)
}

export async function allocate(cfg: HostLocalConfig, containerId: string, ifname: string): Promise<Result> {
  checkIds(containerId, ifname)
  const result: Result = { cniVersion: cfg.cniVersion, ips: [], routes: cfg.routes }
  if (cfg.resolvConf) result.dns = readResolvConf(cfg.resolvConf)
  const store = new LeaseStore(cfg.dataDir, cfg.name)
  const lock = await store.lock()
  try {
    const pending: IP[] = [...cfg.requestedIPs]
    try {
      cfg.rangeSets.forEach((set, i) => {
        // each range set takes the first requested address inside it
        const at = pending.findIndex((ip) => rangeSetContains(set, ip))
        const requested = at >= 0 ? pending.splice(at, 1)[0] : undefined
        try {
          result.ips!.push(allocateFromSet(store, set, i, containerId, ifname, requested))
        } catch (e) {
          if (e instanceof CniError) throw new CniError(e.code, `failed to allocate for range ${i}: ${e.message}`)
          throw e
        }
      })
      if (pending.length) {
        throw new CniError(ErrorCode.InvalidConfig, `failed to allocate all requested IPs: ${pending.map(formatIP).join(' ')}`)
      }
    } catch (e) {
      // only what this call reserved: an earlier lease of the same attachment stays
      for (const got of result.ips!) store.unreserve(containerId, ifname, got.address.split('/')[0])
      throw e
    }
  } finally {
    lock.release()
  }
  return result
}

export async function release(cfg: LeaseStoreLocation, containerId: string, ifname: string): Promise<void> {
  checkIds(containerId, ifname)
  if (!fs.existsSync(path.join(cfg.dataDir, cfg.name))) return // no store: nothing was ever allocated there
  const store = new LeaseStore(cfg.dataDir, cfg.name)
  const lock = await store.lock()
  try {
    store.releaseByID(containerId, ifname)
  } finally {
    lock.release()
  }
}

export async function check(cfg: HostLocalConfig, containerId: string, ifname: string): Promise<void> {
  checkIds(containerId, ifname)
  const store = new LeaseStore(cfg.dataDir, cfg.name)
  const lock = await store.lock()
  try {
    if (store.findByID(containerId, ifname).length === 0) {
      throw new CniError(ErrorCode.InvalidConfig, `host-local: failed to find address added by container ${containerId} (ifname ${ifname})`)
    }
  } finally {
    lock.release()
  }
}

/** Removes every lease not held by one of `valid`; `lock` and `last_reserved_ip.*` stay. */
export async function gc(cfg: HostLocalConfig, valid: { containerID: string; ifname: string }[]): Promise<string[]> {
  const keep = new Set(valid.map((a) => `${a.containerID}\n${a.ifname}`))
  const keepIds = new Set(valid.map((a) => a.containerID))
  const store = new LeaseStore(cfg.dataDir, cfg.name)
  const lock = await store.lock()
  const released: string[] = []
  try {
    store.removeTempFiles()
    for (const l of store.leases()) {
      const kept = l.ifname === undefined ? keepIds.has(l.containerId) : keep.has(`${l.containerId}\n${l.ifname}`)
      if (kept) continue
      store.release(l.ip)
      released.push(l.ip)
    }
    store.pruneIndex(valid)
  } finally {
    lock.release()
  }
  return released
}

/** STATUS: the store must be creatable and writable, or no ADD can succeed (error 50). */
export async function status(cfg: HostLocalConfig): Promise<void> {
  try {
    const store = new LeaseStore(cfg.dataDir, cfg.name)
    fs.accessSync(store.dir, fs.constants.W_OK)
  } catch (e) {
    throw new CniError(ErrorCode.NotAvailable, `host-local cannot use its data directory ${cfg.dataDir}: ${(e as Error).message}`)
  }
}
