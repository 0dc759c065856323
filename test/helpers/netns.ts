// Real network namespaces and veth pairs for the namespace tier (root only).
import { execFileSync } from 'node:child_process'

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

let counter = 0
/** A unique short name with `prefix` (interface names are limited to 15 characters). */
export function uniqueName(prefix: string): string {
  return `${prefix}${process.pid % 1000}x${counter++}`
}

/** Creates /var/run/netns/<name>; removed at teardown. */
export function addNetns(t: { teardown(fn: () => void): void }, prefix: string): { name: string; path: string } {
  const name = uniqueName(prefix)
  ip('netns', 'add', name)
  t.teardown(() => {
    try {
      ip('netns', 'del', name)
    } catch {
      /* already gone */
    }
  })
  return { name, path: `/var/run/netns/${name}` }
}

/** A veth pair in the host namespace; `name` stands in for a VF netdev, `peer` for the wire. */
export function addVeth(t: { teardown(fn: () => void): void }, prefix: string): { name: string; peer: string; mac: string } {
  const name = uniqueName(prefix)
  const peer = `${name}p`
  ip('link', 'add', name, 'type', 'veth', 'peer', 'name', peer)
  t.teardown(() => {
    for (const n of [name, peer]) {
      try {
        ip('link', 'del', n)
      } catch {
        /* moved or gone with its namespace */
      }
    }
  })
  const mac = JSON.parse(ip('-j', 'link', 'show', name))[0].address as string
  return { name, peer, mac }
}

export function linkJson(name: string, netns?: string): any | undefined {
  try {
    const out = netns ? ip('-n', netns, '-j', '-d', 'link', 'show', name) : ip('-j', '-d', 'link', 'show', name)
    return JSON.parse(out)[0]
  } catch {
    return undefined
  }
}

export function addrs(name: string, netns: string): string[] {
  const j = JSON.parse(ip('-n', netns, '-j', 'addr', 'show', name))[0]
  return (j?.addr_info ?? []).filter((a: any) => a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`)
}
