// ADD: configure the VF on its PF, move its netdev into the pod, assign addresses. Every step registers its
// undo; a failure at any step runs them all in reverse, so a failed ADD leaves everything as it was.
import { addAddress, addRoute, closeRtnl, linkByName, openRtnl, setLinkUp } from '../host/link'
import { Netns, netnsExists } from '../host/netns'
import { vfConfigurator } from '../host/vf-config'
import { resolveVf, VfLookupError } from '../host/vf-device'
import { ATTACHMENT_FORMAT, type AttachmentRecord } from '../state/attachment'
import { StateStore } from '../state/store'
import { CniError, ErrorCode } from '../protocol/errors'
import type { Result } from '../protocol/result'
import type { PluginContext } from '../protocol/skel'
import { parseSriovConfig, requestedVfState } from './config'
import { faultPoint } from './fault'
import { ipamAdd, ipamDel } from './ipam'
import { log } from './log'
import { originalOf, releaseAttachment } from './release'
import { enableArpNotify, moveIntoPod, returnToHost } from './vf-netdev'

type Undo = { what: string; run: () => Promise<unknown> }

export async function cmdAdd({ env, conf }: PluginContext): Promise<Result> {
  const cfg = parseSriovConfig(conf, env)
  let vf
  try {
    vf = resolveVf(cfg.deviceID)
  } catch (e) {
    if (e instanceof VfLookupError) throw new CniError(ErrorCode.InvalidConfig, e.message)
    throw e
  }
  if (!vf.dpdk && !vf.netdev) {
    throw new CniError(ErrorCode.InvalidConfig, `VF ${vf.pci} has no network interface and its driver ${vf.driver ?? '(none)'} is not a DPDK driver`)
  }
  if (!netnsExists(env.netns)) throw new CniError(ErrorCode.InvalidEnv, `CNI_NETNS ${env.netns} is not a network namespace`)
  const store = new StateStore()
  const vfc = vfConfigurator()
  const netConf: Record<string, unknown> = { ...conf.raw, deviceID: cfg.deviceID }
  delete netConf.prevResult

  return store.withVfLock(vf.pci, async () => {
    const holder = await store.allocatedTo(vf.pci)
    if (holder && holder !== env.netns && netnsExists(holder)) {
      throw new CniError(ErrorCode.InvalidConfig, `VF ${vf.pci} is already allocated to network namespace ${holder}`)
    }
    if (holder) await reclaim(store, vf.pci, env)
    const undo: Undo[] = []
    // time since process start at each step, for the debug log (where an ADD spends its time)
    const timings: Record<string, number> = { locked: Math.round(performance.now()) }
    const step = (name: string) => {
      timings[name] = Math.round(performance.now())
      faultPoint(name)
    }
    const pod = Netns.open(env.netns) // open until rollback is over: undo steps need it
    try {
      step('read-vf')
      const origVf = await vfc.read(vf.pfName, vf.vfIndex)
      const want = requestedVfState(cfg)
      step('apply-vf')
      undo.push({ what: 'restore VF config', run: () => vfc.apply(vf.pfName, vf.vfIndex, originalOf(origVf, want)) })
      await vfc.apply(vf.pfName, vf.vfIndex, want)

      const result: Result = { cniVersion: conf.cniVersion, interfaces: [], ips: [], routes: [] }
      let origNetdev: AttachmentRecord['origNetdev']
      let podMac: string | undefined
      {
        if (!vf.dpdk) {
          step('move')
          const host = openRtnl()
          try {
            const before = await linkByName(host, vf.netdev!)
            if (!before) throw new Error(`VF netdev ${vf.netdev} not found on the host`)
            origNetdev = { mac: before.mac, mtu: before.mtu }
            undo.push({ what: 'return VF netdev', run: () => returnToHost(pod, env.ifname, vf.netdev!, before.mac, before.mtu) })
            const placed = await moveIntoPod(host, vf.netdev!, pod, env.ifname, cfg.mac)
            podMac = placed.mac
            result.interfaces!.push({ name: env.ifname, mac: placed.mac, mtu: placed.mtu, sandbox: env.netns, pciID: vf.pci })
          } finally {
            closeRtnl(host)
          }
        } else {
          result.interfaces!.push({ name: env.ifname, ...(cfg.mac ? { mac: cfg.mac } : {}), sandbox: env.netns, pciID: vf.pci })
        }

        step('ipam')
        const ipam = await ipamAdd(netConf, env)
        if (ipam) {
          undo.push({ what: 'release IPs', run: () => ipamDel(netConf, env) })
          result.ips = (ipam.ips ?? []).map((ip) => ({ ...ip, interface: 0 }))
          result.routes = ipam.routes ?? []
          if (ipam.dns) result.dns = ipam.dns
        }

        if (!vf.dpdk) {
          step('addresses')
          enableArpNotify(pod, env.ifname)
          const sock = openRtnl(pod)
          try {
            const link = (await linkByName(sock, env.ifname))!
            for (const ip of result.ips!) await addAddress(sock, link.index, ip.address)
            await setLinkUp(sock, link.index, true)
            for (const r of result.routes!) await addRoute(sock, link.index, r.dst, r.gw ?? gatewayFor(r.dst, result))
          } finally {
            closeRtnl(sock)
          }
        }
      }

      step('record')
      const record: AttachmentRecord = {
        format: ATTACHMENT_FORMAT,
        containerId: env.containerId,
        ifname: env.ifname,
        netns: env.netns,
        netName: conf.name,
        cniVersion: conf.cniVersion,
        deviceID: vf.pci,
        pfName: vf.pfName,
        vfIndex: vf.vfIndex,
        dpdkMode: vf.dpdk,
        origVf,
        appliedVf: want,
        netConf,
        ips: result.ips!.map((i) => i.address),
        result,
        createdAt: new Date().toISOString(),
      }
      if (!vf.dpdk) {
        record.hostIfName = vf.netdev
        record.origNetdev = origNetdev
        record.podMac = podMac
      }
      undo.push({ what: 'remove record', run: () => store.removeAttachment(env.containerId, env.ifname) })
      await store.saveAttachment(record)
      step('mark')
      await store.markAllocated(vf.pci, env.netns)
      timings.done = Math.round(performance.now())
      log('debug', 'ADD done', { deviceID: vf.pci, pf: vf.pfName, vf: vf.vfIndex, msSinceStart: timings })
      return mergePrev(conf.prevResult, result)
    } catch (e) {
      for (const u of undo.reverse()) {
        try {
          await u.run()
        } catch (ue) {
          log('error', `rollback step failed: ${u.what}`, { err: (ue as Error).message })
        }
      }
      if (e instanceof CniError) throw e
      throw new CniError(ErrorCode.Internal, `ADD of VF ${vf.pci} failed and was rolled back: ${(e as Error).message}`)
    } finally {
      pod.close()
    }
  })
}

/** Routes without a gateway go via the gateway of the same family, as host-local's users expect. */
function gatewayFor(dst: string, result: Result): string | undefined {
  const v6 = dst.includes(':')
  return result.ips?.find((i) => i.address.includes(':') === v6)?.gateway
}

/** A chained plugin passes its prevResult through with its own additions. */
function mergePrev(prev: Result | undefined, ours: Result): Result {
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

/** The VF is marked for a namespace that no longer exists: undo that attachment before reusing the VF. */
async function reclaim(store: StateStore, pci: string, env: PluginContext['env']): Promise<void> {
  for (const a of await store.listAttachments()) {
    if (a.kind === 'ours' && a.record.deviceID === pci) {
      log('info', 'reclaiming VF from a dead namespace', { deviceID: pci, netns: a.record.netns })
      await releaseAttachment(a.record, store, env).catch((e) => log('warning', 'reclaim incomplete', { err: (e as Error).message }))
    }
  }
  await store.clearAllocated(pci)
}
