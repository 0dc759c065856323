// An attachment as a list of steps: ADD runs them, a failed ADD undoes the ones it started, and DEL, GC and
// the reclaim of a VF left by a dead pod or a killed ADD undo them all from the record. Every undo works from
// the record alone and is safe when its step never ran or ran half-way.
import { sendGratuitousArps } from '../host/announce'
import { addAddress, addAltnames, addRoute, byteString, deleteAltnames, linkByAnyName, linkByIndex, linkByName, parseMac, renameLink, setLinkMtu, setLinkUp, type LinkInfo } from '../host/link'
import { setLinkSysctls } from '../host/link-sysctl'
import { Netns, netnsExists, openNetnsIfThere } from '../host/netns'
import type { VfConfigurator } from '../host/vf-config'
import { pciOfNetdev, vfHasNetdevDriver, vfNetdev } from '../host/vf-device'
import type { VfState } from '../host/vf-state'
import type { CniEnv } from '../protocol/env'
import { familyOf, ipBytes, IPV6_MIN_MTU, parseCidr } from '../protocol/ip'
import { CniError, ErrorCode } from '../protocol/errors'
import type { Result } from '../protocol/result'
import type { AttachmentRecord } from '../state/attachment'
import type { StateStore } from '../state/store'
import { ipamAdd, ipamDel, ipamType } from './ipam'
import { log } from './log'
import { faultPoint } from './fault'
import type { Step } from './steps'
import { closePlace, mustLink, openPlace, relocate, setMacVerified, trySetMac, type Place } from './vf-netdev'

export interface AttachmentContext {
  rec: AttachmentRecord
  store: StateStore
  vfc: VfConfigurator
  env: CniEnv // CNI_PATH and CNI_ARGS for a delegated IPAM plugin
  // ADD only: where the netdev is going and what it is called there
  host?: Place
  pod?: Place
  hostLink?: LinkInfo // the VF netdev as ADD read it for the record, just before the move
  podIndex?: number
  result?: Result
  /** set by an undo that could not find the VF netdev: the record stays, marked lost, instead of going */
  lost?: boolean
  /** undoing an attachment whose VF another one holds now: the VF's mark is that one's */
  markNotOurs?: boolean
}

/** The steps of `rec`'s attachment, in ADD order; DEL undoes them in reverse. */
export function attachmentSteps(rec: AttachmentRecord): Step<AttachmentContext>[] {
  const netdev = !rec.dpdkMode && !!rec.hostIfName
  const mac = netdev && !!rec.podMac && rec.podMac !== rec.origNetdev?.mac
  const ipam = ipamType(rec.netConf)
  // host-local runs in this process and needs nothing of the netdev: it takes the addresses while the kernel
  // moves the netdev (~20 ms), and DEL gives them back while it moves the netdev home. A delegated plugin (dhcp)
  // may need the netdev in the pod with its MAC.
  const ipamStep: Step<AttachmentContext> | false = ipam !== undefined && { name: 'ipam', run: allocateIps, undo: releaseIps, onDisk: true }
  const beside = netdev && ipam === 'host-local'
  const steps: (Step<AttachmentContext> | false)[] = [
    { name: 'record', run: writeAhead, undo: forget, cleanOnly: true, onDisk: true },
    netdev && { name: 'move', run: moveIntoPod, undo: returnNetdev },
    beside && ipamStep && { ...ipamStep, alongside: 'move' },
    // igbvf takes a MAC only before the PF has set one (unless trusted): the netdev first, then the PF
    mac && { name: 'mac', run: (c) => trySetMac(c.pod!, c.podIndex!, c.rec.podMac!).then(() => {}) },
    { name: 'apply-vf', run: applyVf, undo: restoreVf },
    mac && { name: 'mac-verify', run: (c) => setMacVerified(c.pod!, c.podIndex!, c.rec.podMac!) },
    !beside && ipamStep,
    netdev && { name: 'addresses', run: configureAddresses },
    netdev && { name: 'announce', run: announce },
    { name: 'complete', run: complete },
  ]
  return steps.filter((s): s is Step<AttachmentContext> => !!s)
}

// ---- record

async function writeAhead(c: AttachmentContext): Promise<void> {
  // the mark first: a record never exists without it, so an ADD that finds no mark needs no scan
  await c.store.markAndSave(c.rec, () => faultPoint('record-mark'))
}

async function forget(c: AttachmentContext): Promise<void> {
  if (c.lost) {
    c.rec.state = 'lost'
    await c.store.saveAttachment(c.rec)
    log('warning', 'the VF netdev is in neither the pod nor the host (moved to another namespace?): the attachment is kept as lost and restored when the netdev comes back', { deviceID: c.rec.deviceID, attachment: { containerId: c.rec.containerId, ifname: c.rec.ifname } })
    return
  }
  await c.store.removeAttachment(c.rec.containerId, c.rec.ifname)
  if (c.markNotOurs) return
  const mark = await c.store.allocatedTo(c.rec.deviceID)
  if (mark === undefined || mark === c.rec.netns) await c.store.clearAllocated(c.rec.deviceID)
}

async function complete(c: AttachmentContext): Promise<void> {
  c.rec.state = 'added'
  delete c.rec.pid
  if (c.podIndex !== undefined) c.rec.podIndex = c.podIndex
  c.rec.result = c.result!
  c.rec.ips = (c.result!.ips ?? []).map((i) => i.address)
  await c.store.saveAttachment(c.rec)
}

// ---- the netdev

async function moveIntoPod(c: AttachmentContext): Promise<void> {
  const link = c.hostLink ?? (await mustLink(c.host!, { index: c.rec.origNetdev!.index, name: c.rec.hostIfName }))
  if (link.up) await setLinkUp(c.host!.sock, link.index, false)
  // ADD has just seen that the pod holds no interface of that name (writeAheadRecord)
  const moved = await relocate(c.host!, link, c.pod!, c.rec.ifname, { nameFree: true })
  c.podIndex = moved.index
  if (c.rec.podMtu !== undefined) await setLinkMtu(c.pod!.sock, c.podIndex, c.rec.podMtu)
  c.result!.interfaces!.push({ name: c.rec.ifname, mac: c.rec.podMac ?? moved.mac, mtu: c.rec.podMtu ?? moved.mtu, sandbox: c.rec.netns, pciID: c.rec.deviceID })
}

interface Located {
  place: Place
  link: LinkInfo // as it was found
  inPod: boolean
}

/**
 * Finds the VF netdev wherever a DEL, a crash or the kernel may have left it: in the pod under the pod or the
 * host name, or on the host (where the kernel returns it when the pod dies). Only a link that is provably
 * ours is returned: its parent device where the kernel reports one (the VF's PCI address), else the VF's
 * PCI address in sysfs, or its link type (none for a VF: every link a pod can make has one) with its index or
 * one of its MACs. In the pod the index ADD saw comes first: a pod can give a link of its own the VF's name and
 * MAC, and DEL would have moved that one to the host instead. A Go sriov-cni record notes none of these: its
 * pod's link of the attachment's name is taken, as sriov-cni's DEL takes it.
 */
async function locateNetdev(rec: AttachmentRecord): Promise<Located | undefined> {
  const macs = new Set([rec.origNetdev?.mac, rec.podMac].filter((m): m is string => !!m))
  const parent = rec.origNetdev?.parentDev
  const kind = rec.origNetdev?.kind
  // the kernel's word where it gives one (5.15+: a VF netdev's parent device is the VF's PCI address)
  const parentSays = (l: LinkInfo) => (l.parentDev !== undefined ? l.parentDev === (parent ?? rec.deviceID) : undefined)
  // without a parent device to prove it, a link of another type is not the VF (a record of an older version noted none)
  const sameDevice = (l: LinkInfo) => parentSays(l) ?? (!parent && (kind === undefined || (l.kind ?? '') === kind))
  const ours = (l: LinkInfo) => parentSays(l) ?? (sameDevice(l) && (macs.has(l.mac) || (rec.origNetdev?.index !== undefined && l.index === rec.origNetdev.index)))
  // a Go sriov-cni record notes nothing that tells its netdev from another: as sriov-cni's own DEL does, the
  // pod's link of the attachment's name is taken, unless the kernel names another parent device
  const notesNothing = !parent && kind === undefined && rec.podIndex === undefined && rec.origNetdev?.index === undefined
  const names = (...n: (string | undefined)[]) => [...new Set(n.filter((x): x is string => !!x))]
  const podNs = openNetnsIfThere(rec.netns)
  if (podNs) {
    const pod = openPlace(podNs, `pod ${rec.netns}`)
    // renamed (and given another MAC) by an application in the pod: the index ADD saw stays its own
    const atIndex = rec.podIndex !== undefined ? await linkByIndex(pod.sock, rec.podIndex) : undefined
    if (atIndex && sameDevice(atIndex)) return { place: pod, link: atIndex, inPod: true }
    for (const name of names(rec.ifname, rec.hostIfName)) {
      const link = await linkByName(pod.sock, name)
      if (link && (ours(link) || (notesNothing && name === rec.ifname && parentSays(link) === undefined))) return { place: pod, link, inPod: true }
    }
    closePlace(pod)
  }
  const host = openPlace(Netns.current(), 'the host')
  for (const name of names(vfNetdev(rec.deviceID), rec.hostIfName, rec.ifname)) {
    const link = await linkByName(host.sock, name)
    if (link && (pciOfNetdev(name) === rec.deviceID || ours(link))) return { place: host, link, inPod: false }
  }
  closePlace(host)
  return undefined
}

async function withNetdev(c: AttachmentContext, fn: (at: Located) => Promise<void>): Promise<void> {
  const rec = c.rec
  const at = await locateNetdev(rec)
  if (!at) {
    // a VF removed, or bound to a driver without netdevs, has nothing to bring back; otherwise it is elsewhere
    if (vfHasNetdevDriver(rec.deviceID)) c.lost = true
    else log('info', 'the VF has no netdev any more (removed, or bound to another driver): nothing to bring back', { deviceID: rec.deviceID })
    return
  }
  try {
    await fn(at)
  } finally {
    closePlace(at.place)
  }
}

/**
 * Back on the host under its own name, with its own MAC (whoever changed it: ADD or the pod), MTU and admin
 * state; then the PF's view of its MAC as before. Runs after the undo of apply-vf, so the PF no longer holds
 * the pod's admin MAC, which igb would hold against the netdev's own.
 */
async function returnNetdev(c: AttachmentContext): Promise<void> {
  const rec = c.rec
  const orig = rec.origNetdev!
  await withNetdev(c, async (at) => {
    const link = at.link
    const index = link.index
    if (link.up) await setLinkUp(at.place.sock, index, false)
    // a Go sriov-cni record without EffectiveMAC does not say it
    if (orig.mac && link.mac !== orig.mac) await restoreNetdevMac(rec, at)
    await dropAltnames(rec, at)
    const restoreMtu = async (p: Place, l: LinkInfo) => {
      if (orig.mtu && l.mtu !== orig.mtu) await setLinkMtu(p.sock, l.index, orig.mtu)
    }
    if (at.inPod) {
      const host = openPlace(Netns.current(), 'the host')
      try {
        const home = await relocate(at.place, link, host, rec.hostIfName!, { prepare: restoreMtu })
        await restoreAltnames(rec, host, home.index, home)
        if (orig.up) await setLinkUp(host.sock, home.index, true)
      } finally {
        closePlace(host)
      }
      return
    }
    if (link.name !== rec.hostIfName) {
      const taken = await linkByName(at.place.sock, rec.hostIfName!)
      if (taken && taken.index !== index) throw new Error(`cannot rename ${link.name} back to ${rec.hostIfName}: an interface with that name exists on the host`)
      await renameLink(at.place.sock, index, rec.hostIfName!)
    }
    await restoreAltnames(rec, at.place, index)
    await restoreMtu(at.place, link)
    if (orig.up) await setLinkUp(at.place.sock, index, true)
  })
  await restoreListedMac(c)
}

/**
 * Alternative names move with the netdev and are taken like names: before it moves home, the ones the pod added
 * go (a record of an older version noted none, so there only those that collide), and so do its own that a host
 * link took meanwhile; restoreAltnames gives its own back where it can. A name that will not go is left to the
 * move, which fails only if it really collides: DEL must not fail forever on a name nothing else wants.
 */
async function dropAltnames(rec: AttachmentRecord, at: Located): Promise<void> {
  const link = at.link
  if (!link.altnames.length) return
  const before = rec.origNetdev?.altnames
  const hostName = byteString(rec.hostIfName!)
  // on the host a name is unique already: only its own host name stands in the way of the rename back
  const host = at.inPod ? openPlace(Netns.current(), 'the host') : undefined
  const drop: string[] = []
  try {
    for (const n of link.altnames) {
      if ((before && !before.includes(n)) || n === hostName || (host && (await linkByAnyName(host.sock, n)))) drop.push(n)
    }
  } finally {
    if (host) closePlace(host)
  }
  await deleteEach(rec, at.place, link.index, drop)
}

async function deleteEach(rec: AttachmentRecord, place: Place, index: number, names: string[]): Promise<void> {
  for (const n of names) {
    await deleteAltnames(place.sock, index, [n]).then(
      () => log('info', 'removed an alternative name from the VF netdev', { deviceID: rec.deviceID, altname: n }),
      (e: Error) => log('warning', 'could not remove an alternative name from the VF netdev', { deviceID: rec.deviceID, altname: n, err: e.message }),
    )
  }
}

/**
 * Once home, out of the pod's reach: the altnames it added while the netdev was on its way go (when the record
 * says which were its own), and those it had before ADD come back; a name taken since is left out, with a warning.
 */
async function restoreAltnames(rec: AttachmentRecord, place: Place, index: number, landed?: LinkInfo): Promise<void> {
  const before = rec.origNetdev?.altnames
  // `landed`: the link as it was read right after it landed on the host
  const now = (landed ?? (await mustLink(place, { index }))).altnames
  if (before) await deleteEach(rec, place, index, now.filter((n) => !before.includes(n)))
  for (const n of (before ?? []).filter((x) => !now.includes(x))) {
    await addAltnames(place.sock, index, [n]).catch((e: Error) => log('warning', 'could not give the VF netdev back an alternative name it had', { deviceID: rec.deviceID, altname: n, err: e.message }))
  }
}

/**
 * A VF netdev that is set down, moved or given a MAC reports its MAC to the PF (igb then lists it as the VF's
 * MAC): once the netdev is home, the PF's listing goes back to what it was. When the PF listed the netdev's own
 * MAC before, a driver like igb lists it again now that the netdev has it back, and nothing is forced; a driver
 * that lists only admin MACs does not, so that MAC was pinned by an admin, and is pinned again.
 */
async function restoreListedMac(c: AttachmentContext): Promise<void> {
  const rec = c.rec
  const now = await c.vfc.read(rec.pfName, rec.vfIndex)
  if (now.mac !== rec.origVf.mac) await applyAdminMac(c, rec.origVf.mac)
}

async function restoreNetdevMac(rec: AttachmentRecord, at: Located): Promise<void> {
  try {
    await setMacVerified(at.place, at.link.index, rec.origNetdev!.mac, at.link)
  } catch (e) {
    // a PF that still enforces an admin MAC refuses it: DEL must not fail forever on that
    if (!/EADDRNOTAVAIL|EBUSY|EAGAIN|did not become/.test((e as Error).message)) throw e
    log('warning', 'the VF refused its own MAC back', { deviceID: rec.deviceID, err: (e as Error).message })
  }
}

// ---- the VF on its PF

async function applyVf(c: AttachmentContext): Promise<void> {
  if (Object.keys(c.rec.appliedVf).length) await c.vfc.apply(c.rec.pfName, c.rec.vfIndex, c.rec.appliedVf)
}

/** The original values of the fields ADD set, and of the admin MAC in any case, where they differ now. */
async function restoreVf(c: AttachmentContext): Promise<void> {
  const rec = c.rec
  const fields = [...new Set([...(Object.keys(rec.appliedVf) as (keyof VfState)[]), 'mac' as const])]
  const now = await c.vfc.read(rec.pfName, rec.vfIndex)
  const back: Partial<VfState> = {}
  for (const k of fields) if (now[k] !== rec.origVf[k]) (back as Record<string, unknown>)[k] = rec.origVf[k]
  const { mac, ...rest } = back
  if (Object.keys(rest).length) await c.vfc.apply(rec.pfName, rec.vfIndex, rest)
  if (mac !== undefined) await applyAdminMac(c, adminMacBefore(rec))
}

/**
 * A PF lists one MAC per VF, set by the admin or reported by the VF itself. When it listed the netdev's own MAC,
 * it was the VF's: clearing the admin MAC (and the netdev taking its MAC back) restores that; setting it as an
 * admin MAC would pin a MAC that nobody pinned (and igb would then refuse the VF any other MAC).
 */
function adminMacBefore(rec: AttachmentRecord): string {
  return !rec.dpdkMode && rec.origVf.mac === rec.origNetdev?.mac ? NO_MAC : rec.origVf.mac
}

const NO_MAC = '00:00:00:00:00:00'

/** Some drivers refuse an all-zero admin MAC: DEL must not fail forever on that, so it is only logged. */
async function applyAdminMac(c: AttachmentContext, mac: string): Promise<void> {
  try {
    await c.vfc.apply(c.rec.pfName, c.rec.vfIndex, { mac })
  } catch (e) {
    if (mac !== NO_MAC) throw e
    log('warning', 'the PF refused to clear the VF admin MAC', { deviceID: c.rec.deviceID, err: (e as Error).message })
  }
}

// ---- IPAM and addresses

function ipamEnv(c: AttachmentContext): CniEnv {
  // host-local, in-process, never looks at CNI_NETNS: only a delegated plugin is told whether the pod is still there
  const inProcess = ipamType(c.rec.netConf) === 'host-local'
  return { ...c.env, containerId: c.rec.containerId, ifname: c.rec.ifname, netns: inProcess || netnsExists(c.rec.netns) ? c.rec.netns : '' }
}

async function allocateIps(c: AttachmentContext): Promise<void> {
  const ipam = await ipamAdd(c.rec.netConf, ipamEnv(c))
  if (!ipam) return
  c.result!.ips = (ipam.ips ?? []).map((ip) => ({ ...ip, interface: 0 }))
  c.result!.routes = ipam.routes ?? []
  if (ipam.dns) c.result!.dns = ipam.dns
}

async function releaseIps(c: AttachmentContext): Promise<void> {
  await ipamDel(c.rec.netConf, ipamEnv(c))
}

async function configureAddresses(c: AttachmentContext): Promise<void> {
  const pod = c.pod!
  const result = c.result!
  // announce on every later up or MAC change too; IPv6 addresses usable while DAD runs, as sriov-cni does
  setLinkSysctls(pod.ns, c.rec.ifname, { arpNotify: true, ndiscNotify: true, optimisticDad: true })
  // an IPAM plugin's IPv6 address (static, runtimeConfig) is known only now: the kernel has turned IPv6 off
  // on a link below the minimum, and would only answer EINVAL
  const v6 = (result.ips ?? []).find((ip) => parseCidr(ip.address)?.ip.family === 6)
  if (v6 && c.rec.podMtu !== undefined && c.rec.podMtu < IPV6_MIN_MTU) throw new CniError(ErrorCode.InvalidConfig, `invalid mtu: ${c.rec.podMtu} is below ${IPV6_MIN_MTU}, the minimum for IPv6, and IPAM gave the IPv6 address ${v6.address}`)
  const ifname = c.rec.ifname
  // the kernel's refusal alone (EACCES, ENETUNREACH) would not say which address or route it refused
  for (const ip of result.ips ?? []) {
    await addAddress(pod.sock, c.podIndex!, ip.address).catch((e: Error) => {
      throw new Error(`cannot add address ${ip.address} to ${ifname} in ${pod.label}: ${e.message}${/EACCES/.test(e.message) ? ' (IPv6 disabled in the pod?)' : ''}`)
    })
  }
  await setLinkUp(pod.sock, c.podIndex!, true)
  for (const r of result.routes ?? []) {
    const gw = r.gw ?? gatewayFor(r.dst, result)
    await addRoute(pod.sock, c.podIndex!, r.dst, gw).catch((e: Error) => {
      throw new Error(`cannot add route to ${r.dst}${gw ? ` via ${gw}` : ''} on ${ifname} in ${pod.label}: ${e.message}${/ENETUNREACH/.test(e.message) ? ' (the gateway is in none of its subnets)' : ''}`)
    })
  }
}

const CARRIER_WAIT_MS = 200

/**
 * Every address announced on the new link: an address reused by a new pod has a new MAC, which peers would
 * otherwise learn only when their entry times out. With arp_notify set before the link came up, the kernel sent
 * a gratuitous ARP for each IPv4 address then, which reached the wire if the link had carrier; without carrier
 * yet, this waits briefly for it (as sriov-cni does) and sends them itself. IPv6 addresses are announced by the
 * kernel (ndisc_notify) once duplicate address detection has passed: an override NA for an address still
 * tentative could take it from its rightful owner. Failures are logged, never fatal.
 */
async function announce(c: AttachmentContext): Promise<void> {
  const v4 = (c.result!.ips ?? []).map((i) => parseCidr(i.address)?.ip).filter((ip) => ip?.family === 4).map((ip) => ipBytes(ip!))
  if (!v4.length) return
  let link = await mustLink(c.pod!, { index: c.podIndex })
  if (link.running) return
  for (let waited = 0; !link.running && waited < CARRIER_WAIT_MS; waited += 10) {
    await new Promise((r) => setTimeout(r, 10))
    link = await mustLink(c.pod!, { index: c.podIndex })
  }
  // a packet socket costs its close a few ms (synchronize_net): only on this path
  const failures = link.running ? sendGratuitousArps(c.pod!.ns, link.index, parseMac(link.mac), v4) : ['no carrier']
  if (failures.length) log('warning', 'could not announce every IPv4 address', { failures })
}

/** Routes without a gateway go via the gateway of the same family, as host-local's users expect. */
function gatewayFor(dst: string, result: Result): string | undefined {
  const family = familyOf(dst)
  return result.ips?.find((i) => familyOf(i.address) === family)?.gateway
}
