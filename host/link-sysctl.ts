// Per-link sysctls under /proc/sys/net, written inside the link's namespace (that is where /proc/sys/net points).
import fs = require('node:fs')
import type { Netns } from './netns'

export interface LinkSysctls {
  arpNotify?: boolean // gratuitous ARP when the link comes up or its MAC changes
  ndiscNotify?: boolean // unsolicited neighbour advertisements on the same events
  optimisticDad?: boolean // IPv6 addresses usable while duplicate address detection runs
}

const PATHS: Record<keyof LinkSysctls, (ifname: string) => string> = {
  arpNotify: (i) => `/proc/sys/net/ipv4/conf/${i}/arp_notify`,
  ndiscNotify: (i) => `/proc/sys/net/ipv6/conf/${i}/ndisc_notify`,
  optimisticDad: (i) => `/proc/sys/net/ipv6/conf/${i}/optimistic_dad`,
}

/** Sets what it can; a family disabled on the link (no ipv6 directory) is skipped. */
export function setLinkSysctls(ns: Netns, ifname: string, values: LinkSysctls): void {
  ns.run(() => {
    for (const [k, v] of Object.entries(values) as [keyof LinkSysctls, boolean | undefined][]) {
      if (v === undefined) continue
      try {
        fs.writeFileSync(PATHS[k](ifname), v ? '1' : '0')
      } catch {
        /* that family is off on this link: nothing to announce for it */
      }
    }
  })
}
