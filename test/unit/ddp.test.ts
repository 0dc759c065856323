// DDP profiles: devlink's answer parsed as the kernel encodes it, the PF asked for its VFs, and a kernel
// without devlink (this host's) answered with a reason instead of a profile.
import t from 'tap'
import { readDdpProfiles } from '../../host/ddp'
import { openDevlink, parseAttrs, runningVersions, stringAttr, type DevlinkClient } from '../../host/devlink'
import type { PciDevice } from '../../host/pci'

const nested = (type: number, parts: Buffer[]) => {
  const body = Buffer.concat(parts)
  const head = Buffer.alloc(4)
  head.writeUInt16LE(4 + body.length, 0)
  head.writeUInt16LE(type | 0x8000, 2) // NLA_F_NESTED, as the kernel sets it
  return Buffer.concat([head, body])
}
const version = (type: number, name: string, value: string) => nested(type, [stringAttr(103, name), stringAttr(104, value)])

t.test('a DEVLINK_CMD_INFO_GET answer: running versions by name, fixed and stored ones left out', async (t) => {
  const answer = Buffer.concat([
    stringAttr(1, 'pci'), stringAttr(2, '0000:af:00.0'), stringAttr(98, 'ice'),
    version(100, 'board.id', 'K91258-000'),
    version(101, 'fw.mgmt', '7.3.4'), version(101, 'fw.app.name', 'ICE COMMS Package'), version(101, 'fw.app', '1.3.45.0'),
    version(102, 'fw.app.name', 'ICE OS Default Package'),
  ])
  t.same([...runningVersions(answer)], [['fw.mgmt', '7.3.4'], ['fw.app.name', 'ICE COMMS Package'], ['fw.app', '1.3.45.0']])
  t.same(parseAttrs(stringAttr(2, 'abc')).map((a) => [a.type, a.data.toString()]), [[2, 'abc\0']])
  t.equal(stringAttr(1, 'pci').length, 8, 'padded to 4 bytes')
})

t.test('profiles: a VF gets its PF\'s; a function without devlink instance none', async (t) => {
  const asked: string[] = []
  const client: DevlinkClient = {
    async runningVersions(bus, dev) {
      asked.push(`${bus}/${dev}`)
      if (dev === '0000:af:00.0') return new Map([['fw.app.name', 'ICE COMMS Package']])
      throw new Error('Request rejected: ENODEV')
    },
    close() {},
  }
  const base = { vendor: '8086', classCode: 0x020000, numaNode: 0, numVfs: 0, totalVfs: 0, netdevs: [], uioDevices: [], rdma: false, pKeys: [] }
  const devices: PciDevice[] = [
    { ...base, pci: '0000:af:00.0', device: '159b', driver: 'ice', numVfs: 1 },
    { ...base, pci: '0000:af:01.0', device: '1889', driver: 'iavf', pfPci: '0000:af:00.0' },
    { ...base, pci: '0000:02:00.0', device: '1572', driver: 'i40e' },
  ]
  t.equal(await readDdpProfiles(devices, async () => client), undefined)
  t.same(devices.map((d) => d.ddpProfile), ['ICE COMMS Package', 'ICE COMMS Package', undefined])
  t.same(asked.sort(), ['pci/0000:02:00.0', 'pci/0000:af:00.0', 'pci/0000:af:01.0'], 'each function asked once, the PF for its VF')
})

t.test('the real kernel: devlink is asked over generic netlink, and a kernel without it is a reason, not a crash', async (t) => {
  const devices: PciDevice[] = [{ pci: '0000:ff:1f.7', vendor: '8086', device: '159b', classCode: 0x020000, numaNode: 0, numVfs: 0, totalVfs: 0, netdevs: [], uioDevices: [], rdma: false, pKeys: [] }]
  const client = await openDevlink().catch((e: Error) => e)
  if (client instanceof Error) {
    t.match(client.message, /^devlink unavailable: /, 'this kernel has no devlink family')
    t.match(await readDdpProfiles(devices), /^devlink unavailable/)
  } else {
    await t.rejects(client.runningVersions('pci', '0000:ff:1f.7'), 'no devlink instance for a function that does not exist')
    client.close()
    t.equal(await readDdpProfiles(devices), undefined)
  }
  t.equal(devices[0].ddpProfile, undefined)
})
