// CHECK: the attachment still looks as ADD left it (sriov-cni's CHECK checks nothing); one Go sriov-cni made is
// checked for what its record and the runtime's prevResult tell.
import { closeRtnl, linkByName, listAddresses, listRoutes, openRtnl } from '../host/link'
import { Netns, netnsExists } from '../host/netns'
import { vfConfigurator } from '../host/vf-config'
import type { VfState } from '../host/vf-state'
import { isUnfinished, madeInEarlierBoot } from '../state/attachment'
import { StateStore } from '../state/store'
import { CniError, ErrorCode } from '../protocol/errors'
import { formatNetwork, parseCidr } from '../protocol/ip'
import { toVersion, type Result } from '../protocol/result'
import type { PluginContext } from '../protocol/skel'
import { parseSriovConfig, requestedVfState, type SriovConfig } from './config'
import { ipamCheck } from './ipam'
import { onItsVf, toRecord } from './detach'

const fail = (msg: string) => new CniError(ErrorCode.Internal, `CHECK failed: ${msg}`)

export async function cmdCheck(ctx: PluginContext): Promise<void> {
  const cfg = parseSriovConfig(ctx.conf, ctx.env)
  const store = new StateStore()
  // under the same locks as ADD and DEL: a CHECK never sees an attachment half-way through either
  await store.withAttachmentLock(ctx.env.containerId, ctx.env.ifname, () => store.withVfLock(cfg.deviceID, () => check(ctx, cfg, store)))
}

async function check({ env, conf }: PluginContext, cfg: SriovConfig, store: StateStore): Promise<void> {
  const stored = await store.loadAttachment(env.containerId, env.ifname)
  if (!stored) throw fail(`no attachment record for container ${env.containerId} interface ${env.ifname}`)
  // the VF's PF and index as sysfs gives them now (the PF may have been renamed since ADD)
  const { rec, gone } = onItsVf(await toRecord(stored, store, env, { conf: conf.raw, own: true }))
  // a Go sriov-cni record keeps no result: the runtime's prevResult says which addresses the pod's interface has
  const expected = stored.kind === 'ours' ? { ips: rec.ips, routes: rec.result.routes ?? [] } : { ips: addressesOf(conf.prevResult, env.ifname), routes: [] }
  if (gone) throw fail(`VF ${rec.deviceID} of the attachment does not exist`)
  if (madeInEarlierBoot(rec)) throw fail(`the attachment of container ${env.containerId} interface ${env.ifname} was made before the node restarted`)
  if (isUnfinished(rec)) throw fail(`the ADD of container ${env.containerId} interface ${env.ifname} did not finish`)
  if (rec.deviceID !== cfg.deviceID) throw fail(`the attachment uses VF ${rec.deviceID}, the config names ${cfg.deviceID}`)

  const want = requestedVfState(cfg)
  const have = await vfConfigurator().read(rec.pfName, rec.vfIndex)
  for (const k of Object.keys(want) as (keyof VfState)[]) {
    if (have[k] !== want[k]) throw fail(`VF ${rec.vfIndex} on PF ${rec.pfName} has ${k} ${JSON.stringify(have[k])}, expected ${JSON.stringify(want[k])}`)
  }

  if (!rec.dpdkMode) {
    if (!netnsExists(env.netns)) throw fail(`network namespace ${env.netns} does not exist`)
    const pod = Netns.open(env.netns)
    const sock = openRtnl(pod)
    try {
      const link = await linkByName(sock, env.ifname)
      if (!link) throw fail(`interface ${env.ifname} is missing from the pod`)
      // the MAC asked for, else the one ADD reported: a pod's interface keeps what its result says
      const mac = rec.podMac ?? rec.result.interfaces?.find((i) => i.name === env.ifname && i.sandbox)?.mac
      if (mac && link.mac !== mac) throw fail(`interface ${env.ifname} has MAC ${link.mac}, expected ${mac}`)
      if (rec.podMtu && link.mtu !== rec.podMtu) throw fail(`interface ${env.ifname} has MTU ${link.mtu}, expected ${rec.podMtu}`)
      const addrs = await listAddresses(sock, link.index)
      for (const ip of expected.ips) if (!addrs.includes(ip)) throw fail(`address ${ip} is missing from ${env.ifname}`)
      const routes = await listRoutes(sock)
      for (const r of expected.routes) {
        // the kernel lists the network in canonical text; a result may carry any text of it (a delegated plugin's)
        const want = networkText(r.dst)
        if (!routes.some((x) => x.dst === want && x.oif === link.index)) throw fail(`route to ${r.dst} via ${env.ifname} is missing`)
      }
    } finally {
      closeRtnl(sock)
      pod.close()
    }
  }
  // a delegated IPAM plugin checks against the result it is handed, as the spec asks
  const prevResult = conf.raw.prevResult ?? toVersion(rec.result, conf.cniVersion)
  await ipamCheck({ ...rec.netConf, cniVersion: conf.cniVersion, prevResult }, env)
}

/** The addresses `result` gives the pod's interface `ifname`. */
function addressesOf(result: Result | undefined, ifname: string): string[] {
  const ours = (i: number | undefined) => i !== undefined && result?.interfaces?.[i]?.name === ifname && !!result.interfaces[i].sandbox
  return (result?.ips ?? []).filter((ip) => ours(ip.interface)).map((ip) => ip.address)
}

/** "FD00:88:0::5/64" as the kernel lists it: "fd00:88::/64". */
function networkText(dst: string): string {
  const c = parseCidr(dst)
  return c ? formatNetwork(c) : dst
}
