// ADD: everything is checked before anything changes (config, CNI_NETNS, the VF, the pod's interface name);
// then, under the attachment's and the VF's locks, the write-ahead record is saved and the attachment's steps
// run. A failure undoes what was started; a kill -9 leaves the record for DEL, GC or the next ADD on the VF.
import { MAX_STATE_FILE_BYTES } from '../host/atomic-file'
import { bootId } from '../host/boot-id'
import { byteString, linkByAnyName, linkByName, type LinkInfo } from '../host/link'
import { Netns, NetnsError } from '../host/netns'
import { vfConfigurator } from '../host/vf-config'
import { resolveVf, VfLookupError, type VfDevice } from '../host/vf-device'
import { CniError, ErrorCode } from '../protocol/errors'
import { IPV6_MIN_MTU } from '../protocol/ip'
import type { Result } from '../protocol/result'
import type { CniEnv } from '../protocol/env'
import type { PluginContext } from '../protocol/skel'
import { ATTACHMENT_FORMAT, isoTime, type AttachmentRecord } from '../state/attachment'
import { deviceOf, ForeignRecord, StateStore } from '../state/store'
import { attachmentSteps, type AttachmentContext } from './attachment'
import { parseSriovConfig, requestedVfState, type SriovConfig } from './config'
import { ipamHasIpv6, ipamPrecheck } from './ipam'
import { loadOrSetAside } from './load-record'
import { codeCacheUse } from './code-cache'
import { log } from './log'
import { mergePrevResult } from './prev-result'
import { runSteps } from './steps'
import { claimVf } from './vf-claim'
import { closePlace, mustLink, openPlace, type Place } from './vf-netdev'

export async function cmdAdd({ env, conf }: PluginContext): Promise<Result> {
  // time since process start at each point, for the debug log (where an ADD spends its time)
  const timings: Record<string, number> = {}
  // process.uptime, not performance.now: the first use of `performance` loads perf_hooks (~1.5 ms a call)
  const mark = (name: string) => (timings[name] = Math.round(process.uptime() * 1000))
  mark('started')
  keptConfigFits(conf.raw)
  const cfg = parseSriovConfig(conf, env)
  // the kernel reads a "%d" in a new name as "the first free number": the result would name no interface
  if (env.ifname.includes('%')) throw new CniError(ErrorCode.InvalidEnv, `invalid interface name ${JSON.stringify(env.ifname)} (CNI_IFNAME): "%" is not allowed`)
  // the kernel checks a new name's bytes, and its isspace() takes 0xA0 as a space: it is in the UTF-8 of "à", "Р", "†"
  if (Buffer.from(env.ifname).includes(0xa0)) throw new CniError(ErrorCode.InvalidEnv, `invalid interface name ${JSON.stringify(env.ifname)} (CNI_IFNAME): its UTF-8 holds the byte 0xA0, which the kernel takes as whitespace`)
  // /proc/sys/net/*/conf/all and default: the kernel (6.x) refuses these names (EINVAL) once the netdev has moved
  if (env.ifname === 'all' || env.ifname === 'default') throw new CniError(ErrorCode.InvalidEnv, `invalid interface name ${JSON.stringify(env.ifname)} (CNI_IFNAME): "all" and "default" name the /proc/sys/net defaults, not an interface`)
  ipamPrecheck(conf.raw, env)
  const podNs = openPodNetns(env.netns)
  mark('checked')
  try {
    const store = new StateStore()
    return await store.withAttachmentLock(env.containerId, env.ifname, () =>
      store.withVfLock(cfg.deviceID, async () => {
        mark('locked')
        // under the VF's lock: a DEL of the pod before may be giving the netdev its name back until then
        const vf = lookUpVf(cfg.deviceID)
        const pod = openPlace(podNs, `pod ${env.netns}`)
        const host = vf.dpdk ? undefined : openPlace(Netns.current(), 'the host')
        mark('sockets')
        try {
          const c: AttachmentContext = { rec: undefined as never, store, vfc: vfConfigurator(), env, pod, host }
          await ownRecordFree(store, env, vf.pci)
          const reclaimed = await claimVf(store, vf.pci, env, c.vfc, { conf: conf.raw, own: false })
          // read again after a reclaim: its netdev came back from the kernel under another name, and got its own back
          c.rec = await writeAheadRecord(c, cfg, reclaimed ? lookUpVf(vf.pci) : vf, conf.raw)
          c.result = { cniVersion: conf.cniVersion, interfaces: [], ips: [], routes: [] }
          if (vf.dpdk) c.result.interfaces!.push({ name: env.ifname, ...(cfg.mac ? { mac: cfg.mac } : {}), sandbox: env.netns, pciID: vf.pci })
          mark('original-state')
          try {
            await runSteps(attachmentSteps(c.rec), c, mark)
          } catch (e) {
            throw addFailed(e, vf)
          }
          mark('done')
          log('debug', 'ADD done', { deviceID: vf.pci, pf: vf.pfName, vf: vf.vfIndex, msSinceStart: timings, codeCache: codeCacheUse() })
          return mergePrevResult(conf.prevResult, c.result)
        } finally {
          if (host) closePlace(host)
          closePlace(pod) // also closes podNs
        }
      }),
    )
  } catch (e) {
    podNs.close()
    throw e
  }
}

/**
 * The attachment's own record file, before anything is written to it: another attachment's (sriov-cni's file
 * names collide) or this attachment's on another VF would be overwritten and that VF never restored, so ADD is
 * refused; a damaged one is set aside. One on this VF is claimVf's to undo.
 */
async function ownRecordFree(store: StateStore, env: CniEnv, pci: string): Promise<void> {
  let stored
  try {
    stored = await loadOrSetAside(store, env.containerId, env.ifname, 'ADD')
  } catch (e) {
    if (!(e instanceof ForeignRecord)) throw e
    throw new CniError(ErrorCode.InvalidEnv, `CNI_CONTAINERID ${JSON.stringify(env.containerId)} and CNI_IFNAME ${JSON.stringify(env.ifname)} give the record file of container ${e.owner.containerId} interface ${e.owner.ifname} (${e.file}: sriov-cni names it "<containerID>-<ifname>"): use another interface name`)
  }
  if (stored && deviceOf(stored) !== pci) {
    throw new CniError(ErrorCode.InvalidConfig, `container ${env.containerId} interface ${env.ifname} already has an attachment, on VF ${deviceOf(stored)}: DEL it before an ADD on VF ${pci}`)
  }
}

// the record keeps the config (without prevResult) and later the result, which may repeat its routes and DNS
const MAX_KEPT_CONFIG_BYTES = MAX_STATE_FILE_BYTES / 4

/** A config the attachment record could not hold would make an attachment no DEL can read back: refused first. */
function keptConfigFits(raw: Record<string, unknown>): void {
  const bytes = Buffer.byteLength(JSON.stringify({ ...raw, prevResult: undefined }))
  if (bytes > MAX_KEPT_CONFIG_BYTES) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid network configuration: ${bytes} bytes (without prevResult); the attachment record keeps it, and a record holds at most ${MAX_STATE_FILE_BYTES} bytes, so at most ${MAX_KEPT_CONFIG_BYTES} are accepted`)
  }
}

function openPodNetns(path: string): Netns {
  let ns: Netns
  try {
    ns = Netns.open(path)
  } catch (e) {
    if (e instanceof NetnsError) throw new CniError(ErrorCode.InvalidEnv, `invalid CNI_NETNS: ${e.message}`)
    throw e
  }
  if (ns.isCurrent()) {
    ns.close()
    throw new CniError(ErrorCode.InvalidEnv, `invalid CNI_NETNS: ${path} is the host's own network namespace, not a pod's`)
  }
  return ns
}

function lookUpVf(pci: string): VfDevice {
  let vf: VfDevice
  try {
    vf = resolveVf(pci)
  } catch (e) {
    if (e instanceof VfLookupError) throw new CniError(ErrorCode.InvalidConfig, e.message)
    throw e
  }
  if (!vf.dpdk && !vf.netdev) {
    throw new CniError(ErrorCode.InvalidConfig, `VF ${vf.pci} has no network interface and its driver ${vf.driver ?? '(none)'} is not a DPDK driver`)
  }
  return vf
}

/** The VF's original state, read once the VF carries no other attachment's changes (claimVf undid them). */
async function writeAheadRecord(c: AttachmentContext, cfg: SriovConfig, vf: VfDevice, raw: Record<string, unknown>): Promise<AttachmentRecord> {
  const env = c.env
  const netConf: Record<string, unknown> = { ...raw, deviceID: vf.pci }
  delete netConf.prevResult
  const rec: AttachmentRecord = {
    format: ATTACHMENT_FORMAT,
    state: 'adding',
    pid: process.pid,
    bootId: bootId(),
    containerId: env.containerId,
    ifname: env.ifname,
    netns: env.netns,
    netName: cfg.netConf.name,
    cniVersion: cfg.netConf.cniVersion,
    deviceID: vf.pci,
    pfName: vf.pfName,
    vfIndex: vf.vfIndex,
    dpdkMode: vf.dpdk,
    origVf: await c.vfc.read(vf.pfName, vf.vfIndex),
    appliedVf: requestedVfState(cfg),
    netConf,
    ips: [],
    result: { cniVersion: cfg.netConf.cniVersion },
    createdAt: isoTime(new Date()),
  }
  if (cfg.mac) rec.podMac = cfg.mac
  if (!vf.dpdk) {
    // never touch what we did not move: the pod's own interface of that name (or lo) stays out of it
    if (await linkByName(c.pod!.sock, env.ifname)) {
      throw new CniError(ErrorCode.InvalidEnv, `invalid CNI_IFNAME: an interface named ${env.ifname} already exists in ${env.netns}`)
    }
    const link = await mustLink(c.host as Place, { name: vf.netdev! }).catch(() => {
      throw new CniError(ErrorCode.InvalidConfig, `VF netdev ${vf.netdev} of ${vf.pci} is not on the host: is it in use by another pod?`)
    })
    c.hostLink = link
    rec.hostIfName = link.name
    rec.origNetdev = { mac: link.mac, mtu: link.mtu, index: link.index, up: link.up, altnames: link.altnames, kind: link.kind ?? '', ...(link.parentDev ? { parentDev: link.parentDev } : {}) }
    await altnamesFitPod(c.pod!, link, env.ifname, env.netns)
    if (cfg.mtu !== undefined) rec.podMtu = await mtuWithinPf(c.host!, cfg.mtu, vf.pfName, ipamHasIpv6(raw, env))
  }
  return rec
}

/**
 * The VF's alternative names move with it and are taken like names: one equal to CNI_IFNAME, or to the name of
 * a link in the pod, would make the kernel refuse the rename or the move half-way. Refused before anything changes.
 */
async function altnamesFitPod(pod: Place, link: LinkInfo, ifname: string, netns: string): Promise<void> {
  const hint = (n: string) => `remove it (ip link property del dev ${link.name} altname ${JSON.stringify(n)}) or choose another`
  if (link.altnames.includes(byteString(ifname))) throw new CniError(ErrorCode.InvalidEnv, `invalid CNI_IFNAME: ${ifname} is an alternative name of the VF netdev ${link.name}; ${hint(ifname)} interface name`)
  for (const n of link.altnames) {
    if (await linkByAnyName(pod.sock, n)) throw new CniError(ErrorCode.InvalidConfig, `the VF netdev ${link.name} has the alternative name ${JSON.stringify(n)}, which an interface in ${netns} already has; ${hint(n)} VF`)
  }
}

/** A VF cannot carry frames larger than its PF: refused before anything changes, naming both. */
async function mtuWithinPf(host: Place, mtu: number, pfName: string, ipv6: boolean): Promise<number> {
  const pf = await mustLink(host, { name: pfName })
  if (mtu > pf.mtu) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid mtu: ${mtu} is above the MTU ${pf.mtu} of the VF's PF ${pfName}; raise the PF's MTU first`)
  }
  // the kernel turns IPv6 off on a link below the minimum: the IPv6 addresses could not be added
  if (ipv6 && mtu < IPV6_MIN_MTU) throw new CniError(ErrorCode.InvalidConfig, `invalid mtu: ${mtu} is below ${IPV6_MIN_MTU}, the minimum for IPv6, and the IPAM config has an IPv6 range`)
  return mtu
}

/** The step's error, with the rollback's outcome when an undo did not complete. */
function addFailed(e: unknown, vf: VfDevice): Error {
  const rollback = (e as { rollback?: string[] }).rollback ?? []
  const undone = rollback.length ? `; rollback incomplete (${rollback.join('; ')}), the record stays for DEL to finish` : ''
  if (e instanceof CniError) return rollback.length ? new CniError(e.code, e.message + undone) : e
  // a full, read-only or immutable (chattr +i) store is an I/O failure (code 5), which a runtime may retry once
  // it is fixed; netlink refusals carry no `code`
  const io = ['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'ENOTREG', 'EPERM', 'EACCES'].includes((e as NodeJS.ErrnoException).code ?? '')
  const step = (e as { step?: string }).step
  return new CniError(io ? ErrorCode.IoFailure : ErrorCode.Internal, `ADD of VF ${vf.pci} failed${step ? ` (step ${step})` : ''}: ${(e as Error).message}${undone || ', everything was rolled back'}`)
}
