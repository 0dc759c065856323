// Our rtnetlink attribute codec against the kernel's layout (include/uapi/linux/netlink.h, if_link.h): 4-byte
// headers, payloads padded to 4, nested lists, and a PF's IFLA_VFINFO_LIST as the kernel fills it.
import { EventEmitter } from 'node:events'
import t from 'tap'
import { attrList, cString, encodeAttrs, NLA_F_NESTED, parseAttrs, readString, RequestRejected, Rtnl, u32 } from '../../host/rtnetlink'
import { decodeVfInfo, parseVfInfoList } from '../../host/vf-config-netlink'
import { getLink } from '../../host/link'

t.test('attributes: length without padding, payload padded to 4, nesting', async (t) => {
  const buf = encodeAttrs([{ type: 3, value: cString('net1') }, { type: 22, value: [{ type: 1, value: u32(7) }] }, { type: 4, value: u32(1500) }])
  t.equal(buf.readUInt16LE(0), 4 + 5, 'IFLA_IFNAME "net1\\0": nla_len counts the NUL, not the padding')
  t.equal(buf.readUInt16LE(2), 3)
  t.equal(buf.readUInt16LE(12), 4 + 8, 'the nest holds one 8-byte attribute')
  t.equal(buf.length, 12 + 12 + 8)
  const attrs = parseAttrs(buf)
  t.equal(readString(attrs.get(3)), 'net1')
  t.equal(attrs.get(4)!.readUInt32LE(0), 1500)
  t.same(attrList(attrs.get(22)!).map(([type, v]) => [type, v.readUInt32LE(0)]), [[1, 7]])
})

t.test('attributes by type: flags masked, the last of a repeated type, undefined when absent, a truncated tail ignored', async (t) => {
  const buf = Buffer.concat([
    encodeAttrs([{ type: 5, value: u32(1) }, { type: 6 | NLA_F_NESTED, value: [{ type: 1, value: u32(9) }] }, { type: 5, value: u32(2) }]),
    Buffer.from([8, 0, 7, 0, 1]),
  ])
  const attrs = parseAttrs(buf)
  t.equal(attrs.get(5)!.readUInt32LE(0), 2, 'the last IFLA of a repeated type, as the map it replaced')
  t.ok(attrs.get(6), 'found by type without NLA_F_NESTED')
  t.equal(attrs.get(7), undefined, 'an attribute running past the buffer is not returned')
  t.equal(attrs.get(8), undefined)
})

t.test('attributes by type: every type of a link-sized message found from one view, in any order, byte-order flag masked', async (t) => {
  const types = [...Array(60).keys()].map((i) => i + 1)
  const buf = encodeAttrs(types.map((type) => ({ type: type === 33 ? type | 0x4000 : type, value: u32(type * 1000 + 7) })))
  const attrs = parseAttrs(buf)
  for (const type of [...types].reverse()) t.equal(attrs.get(type)?.readUInt32LE(0), type * 1000 + 7, `type ${type}`)
  t.equal(attrs.get(0), undefined)
  t.equal(attrs.get(61), undefined)
  t.equal(attrs.get(33 | 0x4000), undefined, 'looked up by its type, not its flags')
})

t.test('a truncated or zero-length attribute ends the list instead of looping or reading past it', async (t) => {
  const good = encodeAttrs([{ type: 1, value: u32(1) }])
  const bad = Buffer.from([0, 0, 2, 0, 1, 2, 3, 4])
  t.same(attrList(Buffer.concat([good, bad])).map(([type]) => type), [1])
  const long = Buffer.from([200, 0, 2, 0, 1, 2, 3, 4])
  t.same(attrList(long), [])
})

/** IFLA_VF_INFO of one VF as the kernel fills it (nested flag set, stats nest we do not read). */
function kernelVf(vf: number, mac: string, vlan: number, spoofchk: number, trust: number): { type: number; value: Buffer } {
  const macBuf = Buffer.concat([u32(vf), Buffer.from(mac.split(':').map((h) => parseInt(h, 16))), Buffer.alloc(26)])
  const body = encodeAttrs([
    { type: 1, value: macBuf },
    { type: 2, value: Buffer.concat([u32(vf), u32(vlan), u32(0)]) },
    { type: 4, value: Buffer.concat([u32(vf), u32(spoofchk)]) },
    { type: 8 | NLA_F_NESTED, value: [{ type: 0, value: Buffer.alloc(8) }] },
    { type: 9, value: Buffer.concat([u32(vf), u32(trust)]) },
    { type: 5, value: Buffer.concat([u32(vf), u32(2)]) },
  ])
  return { type: 1 | NLA_F_NESTED, value: body }
}

t.test('IFLA_VFINFO_LIST: every VF, by its own index, with the settings the kernel reports', async (t) => {
  const list = encodeAttrs([kernelVf(0, '02:00:00:00:00:01', 0, 1, 0), kernelVf(1, '02:00:00:00:00:02', 201, 0, 1)])
  const vfs = parseVfInfoList(list).map(decodeVfInfo)
  t.same(vfs.map((v) => v.index), [0, 1])
  t.match(vfs[0].state, { mac: '02:00:00:00:00:01', vlan: 0, spoofchk: true, trust: false, linkState: 'disable' })
  t.match(vfs[1].state, { mac: '02:00:00:00:00:02', vlan: 201, spoofchk: false, trust: true })
  t.same(parseVfInfoList(undefined), [], 'a PF without VFs has no list')
})

/** A stand-in for node-netlink's raw socket that answers each request with the next of `answers`. */
function fakeKernel(answers: ((seq: number) => Buffer)[]) {
  const sent: Buffer[] = []
  const raw = new EventEmitter() as EventEmitter & Record<string, unknown>
  Object.assign(raw, {
    ref() {}, unref() {}, close() {},
    send(msg: Buffer) {
      sent.push(msg)
      const answer = answers.shift()
      if (answer) setImmediate(() => raw.emit('message', answer(msg.readUInt32LE(8))))
    },
  })
  return { sent, sock: new Rtnl(raw as never) }
}

function nlmsg(type: number, flags: number, seq: number, payload: Buffer): Buffer {
  const hdr = Buffer.alloc(16)
  hdr.writeUInt32LE(16 + payload.length, 0)
  hdr.writeUInt16LE(type, 4)
  hdr.writeUInt16LE(flags, 6)
  hdr.writeUInt32LE(seq, 8)
  return Buffer.concat([hdr, payload, Buffer.alloc(((payload.length + 3) & ~3) - payload.length)])
}

t.test('a dump the kernel marks interrupted is asked again; errors name the errno; answers go to their request', async (t) => {
  const MULTI = 2, INTR = 0x10, DONE = 3, ERROR = 2, NEWROUTE = 24
  const dump = (intr: boolean, n: number) => (seq: number) => Buffer.concat([
    ...Array.from({ length: n }, () => nlmsg(NEWROUTE, MULTI | (intr ? INTR : 0), seq, Buffer.alloc(12))),
    nlmsg(DONE, MULTI | (intr ? INTR : 0), seq, Buffer.alloc(4)),
  ])
  const { sent, sock } = fakeKernel([dump(true, 2), dump(false, 3)])
  const parts = await sock.request(26, 0x300, Buffer.alloc(12))
  t.equal(sent.length, 2, 'asked twice')
  t.equal(parts.length, 3, 'the uninterrupted answer')

  const errno = (e: number) => (seq: number) => { const p = Buffer.alloc(20); p.writeInt32LE(-e, 0); return nlmsg(ERROR, 0, seq, p) }
  const refusing = fakeKernel([errno(19)])
  const e = await refusing.sock.request(19, 0, Buffer.alloc(16)).then(() => undefined, (e: unknown) => e)
  t.ok(e instanceof RequestRejected && e.errno === 19, 'a RequestRejected with the errno')
  t.match(e, { message: /^Request rejected: ENODEV$/ })
  t.match(String(e), /^Error: Request rejected: ENODEV$/)
  t.match((e as Error).stack, /^Error: Request rejected: ENODEV\n/, 'the stack names it too, for logs')
  const always = fakeKernel([dump(true, 1), dump(true, 1), dump(true, 1), dump(true, 1)])
  t.equal((await always.sock.request(26, 0x300, Buffer.alloc(12))).length, 1, 'a table that keeps changing: the third answer, not a loop')
  t.equal(always.sent.length, 3)
})

t.test('an expected refusal resolves to its errno; any other still rejects; getLink answers "no such link" as undefined', async (t) => {
  const ERROR = 2
  const errno = (e: number) => (seq: number) => { const p = Buffer.alloc(20); p.writeInt32LE(-e, 0); return nlmsg(ERROR, 0, seq, p) }
  const { sock } = fakeKernel([errno(19), errno(1), errno(19), errno(1)])
  t.equal(await sock.requestExpecting([19], 18, 0, Buffer.alloc(16)), 19, 'ENODEV, expected: its errno')
  const e = await sock.requestExpecting([19], 18, 0, Buffer.alloc(16)).then(() => undefined, (e: unknown) => e)
  t.ok(e instanceof RequestRejected && e.errno === 1, 'EPERM, not expected: a RequestRejected')
  t.equal(await getLink(sock, { name: 'net1' }), undefined, 'no such link')
  await t.rejects(getLink(sock, { name: 'net1' }), { errno: 1, message: /EPERM/ }, 'a refusal other than ENODEV is an error')
})
