import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { addAddress, addRoute, closeRtnl, getLinks, IFLA, linkByIndex, linkByName, listAddresses, listRoutes, moveLink, openRtnl, renameLink, setLinkMac, setLinkMtu, setLinkUp } from '../../host/link'
import { Netns } from '../../host/netns'
import { readString } from '../../host/rtnetlink'
import { addNetns, addrs, addVeth, ip, linkJson } from '../helpers/netns'

t.test('a move with a name renames the link where it lands, in one request; a name taken there is refused', async (t) => {
  const pod = addNetns(t, 'thm')
  const a = addVeth(t, 'thma')
  const b = addVeth(t, 'thmb')
  const c = addVeth(t, 'thmc')
  const host = openRtnl()
  const podNs = Netns.open(pod.path)
  const inPod = openRtnl(podNs)
  t.teardown(() => { closeRtnl(host); closeRtnl(inPod); podNs.close() })
  const la = (await linkByName(host, a.name))!
  await moveLink(host, la.index, podNs, 'net1')
  t.match(await linkByName(inPod, 'net1'), { index: la.index, mac: la.mac }, 'landed as net1, index kept')
  // its current name is taken in the pod: the kernel gives it the new name as it lands
  ip('-n', pod.name, 'link', 'add', b.name, 'type', 'veth', 'peer', 'name', 'thmbp')
  const lb = (await linkByName(host, b.name))!
  await moveLink(host, lb.index, podNs, 'net2')
  t.match(await linkByName(inPod, 'net2'), { mac: lb.mac }, 'landed as net2 beside the pod\'s own ' + b.name)
  // the new name is taken: the kernel moves the link, then refuses the rename (callers look for it under its old name)
  const lc = (await linkByName(host, c.name))!
  await t.rejects(moveLink(host, lc.index, podNs, 'net1'), /EEXIST/)
  t.match(await linkByName(inPod, c.name), { mac: lc.mac }, 'moved under its own name')
})

t.test('move, rename, MAC, MTU, up, address and route through sockets bound to each namespace', async (t) => {
  const pod = addNetns(t, 'thl')
  const veth = addVeth(t, 'thl')
  const host = openRtnl()
  const podNs = Netns.open(pod.path)
  const scratch = Netns.open(addNetns(t, 'thls').path)
  t.teardown(() => { closeRtnl(host); podNs.close(); scratch.close() })

  const link = await linkByName(host, veth.name)
  t.ok(link, 'veth found on the host')
  await moveLink(host, link!.index, scratch)
  t.equal(await linkByName(host, veth.name), undefined, 'gone from the host')
  const inScratch = openRtnl(scratch)
  const s = await linkByName(inScratch, veth.name)
  await renameLink(inScratch, s!.index, 'net1')
  await setLinkMac(inScratch, s!.index, '02:11:22:33:44:55')
  await setLinkMtu(inScratch, s!.index, 1400)
  await moveLink(inScratch, s!.index, podNs)
  closeRtnl(inScratch)

  const inPod = openRtnl(podNs)
  t.teardown(() => closeRtnl(inPod))
  const p = await linkByName(inPod, 'net1')
  t.match(p, { name: 'net1', mac: '02:11:22:33:44:55', mtu: 1400 })
  await setLinkUp(inPod, p!.index, true)
  await addAddress(inPod, p!.index, '10.77.0.2/24')
  await addAddress(inPod, p!.index, 'fd77::2/64')
  await addRoute(inPod, p!.index, '10.78.0.0/16', '10.77.0.1')
  await addRoute(inPod, p!.index, '0.0.0.0/0', '10.77.0.1')
  await addRoute(inPod, p!.index, 'fd78::/48', 'fd77::1')
  t.same((await listAddresses(inPod, p!.index)).sort(), ['10.77.0.2/24', 'fd77::2/64'])
  t.same(addrs('net1', pod.name).sort(), ['10.77.0.2/24', 'fd77::2/64'], 'ip(8) agrees')
  const routes = await listRoutes(inPod)
  for (const want of [{ dst: '10.77.0.0/24', oif: p!.index }, { dst: '10.78.0.0/16', gw: '10.77.0.1', oif: p!.index }, { dst: '0.0.0.0/0', gw: '10.77.0.1' }, { dst: 'fd78::/48', gw: 'fd77::1' }]) {
    t.ok(routes.some((r) => Object.entries(want).every(([k, v]) => (r as unknown as Record<string, unknown>)[k] === v)), `route ${JSON.stringify(want)} listed`)
  }
  t.ok(linkJson('net1', pod.name).flags.includes('UP'), 'ip(8) sees net1 up')
  t.match(await linkByName(inPod, 'net1'), { up: true })
  await t.rejects(addAddress(inPod, p!.index, '10.77.0.2/24'), /EEXIST/)
})

t.test('one socket, many requests at once: each gets its own answer; refusals name the errno', async (t) => {
  const a = addVeth(t, 'thla')
  const b = addVeth(t, 'thlb')
  const host = openRtnl()
  t.teardown(() => closeRtnl(host))
  const [la, lb, none] = await Promise.all([linkByName(host, a.name), linkByName(host, b.name), linkByName(host, 'thl-none')])
  t.equal(la?.name, a.name)
  t.equal(lb?.name, b.name)
  t.equal(none, undefined, 'a link that is not there: undefined, not an error')
  t.equal(await linkByIndex(host, 0x7ffffff0), undefined)
  await t.rejects(setLinkMtu(host, 0x7ffffff0, 1400), /Request rejected: ENODEV/)
  await t.rejects(setLinkMtu(host, la!.index, 10), /Request rejected: EINVAL/, 'an MTU below the minimum')
  t.equal((await linkByIndex(host, la!.index))?.mtu, 1500, 'and nothing changed')
})

t.test('a dump longer than one datagram arrives whole; a closed socket says so', async (t) => {
  const pod = addNetns(t, 'thld')
  // ~1.4 KB a link: 300 links fill a dozen of the kernel's dump datagrams, each sent as the one before is read
  const batch = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'thld-')), 'batch')
  fs.writeFileSync(batch, Array.from({ length: 150 }, (_, i) => `link add d${i} type veth peer name d${i}p\n`).join(''))
  execFileSync('ip', ['-n', pod.name, '-batch', batch])
  fs.rmSync(path.dirname(batch), { recursive: true })
  const ns = Netns.open(pod.path)
  const sock = openRtnl(ns)
  t.teardown(() => ns.close())
  const names = (await getLinks(sock)).map((m) => readString(m.attrs.get(IFLA.IFNAME)))
  t.equal(names.length, 301, 'lo and 300 veth ends')
  t.ok(names.includes('d149p') && names.includes('lo'), 'the first and the last parts')
  closeRtnl(sock)
  await t.rejects(linkByName(sock, 'lo'), /closed/)
})

t.test('a move is sent from the thread pool: the event loop turns while the kernel moves the link; refusals and failed sends still reach the caller', async (t) => {
  const pod = addNetns(t, 'thbg')
  const veth = addVeth(t, 'thbg')
  const host = openRtnl()
  const podNs = Netns.open(pod.path)
  t.teardown(() => { closeRtnl(host); podNs.close() })
  const turnsDuring = async (request: () => Promise<unknown>) => {
    let turns = 0
    let on = true
    const spin = () => on && (turns++, setImmediate(spin))
    setImmediate(spin)
    try {
      await request()
    } finally {
      on = false
    }
    return turns
  }
  const link = (await linkByName(host, veth.name))!
  t.equal(await turnsDuring(() => setLinkUp(host, link.index, false)), 0, 'an ordinary request is answered before the loop turns')
  t.ok((await turnsDuring(() => moveLink(host, link.index, podNs, 'net1'))) > 0, 'the loop turned while the link moved')
  t.ok(linkJson('net1', pod.name), 'the link is in the pod as net1')
  await t.rejects(moveLink(host, link.index, podNs, 'net2'), /ENODEV/, 'a refusal (the link is not on the host any more) names the errno')
  // a message larger than the socket's send buffer: sendto itself fails, on the worker thread
  const failed = await new Promise<Error | undefined>((resolve) => host.raw.send(Buffer.alloc(1 << 22), { background: true }, resolve))
  t.match(failed?.message, /sendto failed: EMSGSIZE/, "the worker thread's errno is the caller's")
})
