// Races between verbs, as runtimes and the device plugin's reconciler produce them, and hostile or unusual
// input: each must either work or fail clearly, and never leave the VF, the pod or the stores half-changed.
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { addNetns, ip, linkJson } from '../helpers/netns'
import { ROOT } from '../helpers/plugin-exec'
import { sriovNode, type SriovNode } from '../helpers/sriov-node'

const leases = (node: SriovNode) => {
  const dir = path.join(node.dataDir, 'sriov-201')
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^\d/.test(f)) : []
}
const leaseOf = (node: SriovNode, id: string) => leases(node).filter((f) => fs.readFileSync(path.join(node.dataDir, 'sriov-201', f), 'utf8') === `${id}\r\nnet1`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

t.test('a duplicate DEL racing the next pod\'s ADD on the same VF never restores over the new pod', async (t) => {
  const node = sriovNode(t, 'trd')
  const a = addNetns(t, 'trd')
  const b = addNetns(t, 'trd')
  const confA = node.conf({ vlan: 201 })
  const confB = node.conf({ vlan: 202 })
  for (let i = 0; i < 25; i++) {
    t.equal((await node.run('ADD', confA, { netns: a.path, containerId: 'a' })).code, 0)
    // the runtime's DEL and the reconciler's DEL of pod a, and the device plugin hands the VF to pod b
    const dels = [node.run('DEL', confA, { netns: a.path, containerId: 'a' }), sleep(i % 5 * 8).then(() => node.run('DEL', confA, { netns: a.path, containerId: 'a' }))]
    await sleep(20 + (i % 7) * 5)
    let addB = await node.run('ADD', confB, { netns: b.path, containerId: 'b' })
    const [d1, d2] = await Promise.all(dels)
    t.same([d1.code, d2.code], [0, 0], 'both DELs succeed')
    if (addB.code !== 0) {
      t.match(addB.json, { code: 7, msg: /already allocated/ }, 'ADD b came before the DELs: refused')
      addB = await node.run('ADD', confB, { netns: b.path, containerId: 'b' })
    }
    t.equal(addB.code, 0, addB.stdout)
    t.match(node.vfConfig()['0'], { vlan: 202 }, `try ${i}: pod b runs with its own VLAN`)
    t.ok(linkJson('net1', b.name), 'and has the VF')
    t.equal((await node.run('DEL', confB, { netns: b.path, containerId: 'b' })).code, 0)
  }
  t.match(node.vfConfig()['0'], { vlan: 0 })
  t.same(node.leftovers(), [])
})

t.test('ADD and DEL of one attachment overlapping: afterwards it is either whole (with its lease) or gone', async (t) => {
  const node = sriovNode(t, 'tro', { vfs: 2 })
  const pod = addNetns(t, 'tro')
  const other = addNetns(t, 'tro')
  const conf = node.conf()
  for (let i = 0; i < 20; i++) {
    const add = node.run('ADD', conf, { netns: pod.path, containerId: 'c' })
    await sleep(Math.random() * 120)
    const del = node.run('DEL', conf, { netns: pod.path, containerId: 'c' })
    const [ra, rd] = await Promise.all([add, del])
    t.equal(rd.code, 0, rd.stdout)
    const record = fs.existsSync(path.join(node.stateDir, 'c-net1'))
    const inPod = !!linkJson('net1', pod.name)
    t.equal(leaseOf(node, 'c').length, record ? 1 : 0, `try ${i}: a lease exactly when the attachment exists (ADD ${ra.code})`)
    t.equal(inPod, record, 'the VF is in the pod exactly when the attachment exists')
    if (record) {
      // the next ADD on the network must not get the same address
      const next = await node.run('ADD', node.conf({ deviceID: node.vfs[1].pci }), { netns: other.path, containerId: 'd' })
      t.equal(next.code, 0, next.stdout)
      t.not(next.json.ips[0].address, `${leaseOf(node, 'c')[0]}/24`, 'no address handed out twice')
      t.equal((await node.run('DEL', node.conf({ deviceID: node.vfs[1].pci }), { netns: other.path, containerId: 'd' })).code, 0)
      t.equal((await node.run('DEL', conf, { netns: pod.path, containerId: 'c' })).code, 0)
    }
  }
  t.same(node.leftovers(), [])
})

t.test('GC with cni.dev/attachments (older libcni) keeps the listed attachments and their leases', async (t) => {
  const node = sriovNode(t, 'trg', { vfs: 2 })
  const keep = addNetns(t, 'trg')
  const drop = addNetns(t, 'trg')
  const conf = (i: number) => node.conf({ deviceID: node.vfs[i].pci }, '1.1.0')
  t.equal((await node.run('ADD', conf(0), { netns: keep.path, containerId: 'keep' })).code, 0)
  t.equal((await node.run('ADD', conf(1), { netns: drop.path, containerId: 'drop' })).code, 0)
  const gc = await node.run('GC', { ...node.conf({}, '1.1.0'), 'cni.dev/attachments': [{ containerID: 'keep', ifname: 'net1' }] })
  t.equal(gc.code, 0, gc.stdout)
  t.equal(leaseOf(node, 'keep').length, 1, 'the listed attachment keeps its lease')
  t.equal(leaseOf(node, 'drop').length, 0, 'the other one is released')
  t.ok(linkJson('net1', keep.name))
  t.ok(linkJson(node.vfs[1].netdev!), 'the unlisted VF is back on the host')
  const noList = await node.run('GC', node.conf({}, '1.1.0'))
  t.match(noList.json, { code: 7, msg: /valid-attachments/ }, 'a GC without any list is refused, not taken as "release everything"')
  t.equal(leaseOf(node, 'keep').length, 1)
})

t.test('"ipam": {} (what sriov-network-operator renders without IPAM) means no IPAM', async (t) => {
  const node = sriovNode(t, 'tri')
  const pod = addNetns(t, 'tri')
  const conf = { cniVersion: '1.0.0', name: 'sriov-201', type: 'sriov', deviceID: node.vfs[0].pci, vlan: 201, vlanQoS: 0, logLevel: 'info', ipam: {} }
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout)
  t.same(add.json.ips ?? [], [])
  t.ok(linkJson('net1', pod.name))
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
  t.same(node.leftovers(), [])
})

t.test('a CNI_NETNS that is not a network namespace is refused with code 4 before anything changes', async (t) => {
  const node = sriovNode(t, 'trn')
  const before = node.snapshot()
  const file = path.join(node.dir, 'regular-file')
  fs.writeFileSync(file, '')
  for (const netns of [file, node.dir, '/dev/null', '/proc/self/ns/mnt', path.join(node.dir, 'missing')]) {
    const add = await node.run('ADD', node.conf({ vlan: 201, mac: '02:00:00:00:00:09' }), { netns })
    t.match(add.json, { code: 4, msg: /CNI_NETNS/ }, `${netns}: ${add.stdout}`)
    t.same(node.snapshot(), before, 'VF and its netdev untouched')
    t.same(node.leftovers(), [], 'no state written')
  }
})

t.test('a CNI_IFNAME that already exists in the pod (eth0, lo) is refused; the pod keeps its interface', async (t) => {
  const node = sriovNode(t, 'trx')
  const pod = addNetns(t, 'trx')
  ip('-n', pod.name, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'trxpeer')
  const podEth0 = linkJson('eth0', pod.name)
  const before = node.snapshot()
  for (const ifname of ['eth0', 'lo']) {
    const add = await node.run('ADD', node.conf({ vlan: 201 }), { netns: pod.path, ifname })
    t.match(add.json, { code: 4, msg: new RegExp(`CNI_IFNAME.*${ifname} already exists`) }, add.stdout)
    t.same(node.snapshot(), before, 'the VF is untouched and on the host')
    t.equal(linkJson('eth0', pod.name)?.address, podEth0.address, 'the pod\'s own eth0 stays in the pod')
    t.equal((await node.run('DEL', node.conf({ vlan: 201 }), { netns: pod.path, ifname })).code, 0, 'DEL succeeds')
    t.equal(linkJson('eth0', pod.name)?.address, podEth0.address, 'and leaves the pod\'s eth0 alone')
  }
  t.same(node.leftovers(), [])
  const add = await node.run('ADD', node.conf({ vlan: 201 }), { netns: pod.path })
  t.equal(add.code, 0, `the next ADD on the VF works: ${add.stdout}`)
})

t.test('under umask 000 nothing the plugin creates is writable by others', async (t) => {
  const node = sriovNode(t, 'tru')
  const pod = addNetns(t, 'tru')
  fs.rmSync(node.stateDir, { recursive: true, force: true })
  const logFile = path.join(node.dir, 'log', 'sriov.log')
  const conf = node.conf({ vlan: 201, logLevel: 'debug', logFile })
  const add = await node.run('ADD', conf, { netns: pod.path, umask: '000' })
  t.equal(add.code, 0, add.stdout)
  const worldWritable = (root: string) => fs.readdirSync(root, { recursive: true }).map((f) => path.join(root, String(f))).concat(root)
    .filter((f) => fs.lstatSync(f).mode & 0o002).map((f) => `${f} ${(fs.lstatSync(f).mode & 0o777).toString(8)}`)
  t.same(worldWritable(node.stateDir), [], 'state directory, records, marks')
  t.same(worldWritable(path.join(node.dataDir)), [], 'IPAM store')
  t.same(worldWritable(path.dirname(logFile)), [], 'log file')
  t.equal(fs.statSync(logFile).mode & 0o777, 0o600, 'the log file is owner-only')
  t.equal((await node.run('DEL', conf, { netns: pod.path, umask: '000' })).code, 0)
})

t.test('a symbolic link planted where a lock file goes is refused, never followed', async (t) => {
  const node = sriovNode(t, 'trs')
  const pod = addNetns(t, 'trs')
  const victim = path.join(node.dir, 'victim')
  const lock = path.join(node.stateDir, 'pci', 'vf_lock', `${node.vfs[0].pci}.lock`)
  fs.mkdirSync(path.dirname(lock), { recursive: true })
  fs.symlinkSync(victim, lock)
  const add = await node.run('ADD', node.conf(), { netns: pod.path })
  t.not(add.code, 0)
  t.match(add.json.msg, /symbolic link/)
  t.notOk(fs.existsSync(victim), 'the link target was not created')
  t.ok(linkJson(node.vfs[0].netdev!), 'the VF stays on the host')
})

t.test('native addons are never loaded from a directory others can write', async (t) => {
  const node = sriovNode(t, 'tra')
  const pod = addNetns(t, 'tra')
  const marker = path.join(node.dir, 'planted-ran')
  const src = path.join(node.dir, 'planted.c')
  fs.writeFileSync(src, `#include <fcntl.h>\n__attribute__((constructor)) static void planted(void) { open("${marker}", O_CREAT | O_WRONLY, 0644); }\n`)
  const lib = path.join(node.dir, 'planted.so')
  execFileSync('cc', ['-shared', '-fPIC', '-o', lib, src])
  // the names the single executable looks for: <content hash>-<asset>
  const hash = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex').slice(0, 16)
  const netlink = hash(path.join(ROOT, 'node_modules/netlink/prebuilds/linux-x64/node.napi.node'))
  const koffi = hash(path.join(path.dirname(require.resolve('@koromix/koffi-linux-x64/package.json')), 'linux_x64', 'koffi.node'))
  const worldWritable = fs.mkdtempSync(path.join(os.tmpdir(), 'planted-'))
  fs.chmodSync(worldWritable, 0o777)
  const otherOwner = fs.mkdtempSync(path.join(os.tmpdir(), 'planted-'))
  fs.chownSync(otherOwner, 65534, 65534)
  t.teardown(() => [worldWritable, otherOwner].forEach((d) => fs.rmSync(d, { recursive: true, force: true })))
  for (const dir of [worldWritable, otherOwner]) {
    for (const name of [`${netlink}-netlink.node`, `${koffi}-koffi.node`]) fs.copyFileSync(lib, path.join(dir, name))
    const add = await node.run('ADD', node.conf(), { netns: pod.path, env: { SRIOV_ADDON_DIR: dir } })
    t.equal(add.code, 0, `ADD works from the default directory: ${add.stdout}`)
    t.notOk(fs.existsSync(marker), `nothing planted in ${dir} ran`)
    t.equal((await node.run('DEL', node.conf(), { netns: pod.path, env: { SRIOV_ADDON_DIR: dir } })).code, 0)
  }
})

t.test('a container ID too long for a file name works, and DEL frees its lease', async (t) => {
  const node = sriovNode(t, 'trl')
  const pod = addNetns(t, 'trl')
  const id = 'c'.repeat(240)
  const add = await node.run('ADD', node.conf(), { netns: pod.path, containerId: id })
  t.equal(add.code, 0, add.stdout)
  t.equal(leaseOf(node, id).length, 1)
  t.equal((await node.run('DEL', node.conf(), { netns: pod.path, containerId: id })).code, 0)
  t.equal(leaseOf(node, id).length, 0, 'lease released')
  t.same(node.leftovers(), [])
})

t.test('a failed requested-IP allocation leaves no lease and no index entry', async (t) => {
  const node = sriovNode(t, 'trq')
  const pod = addNetns(t, 'trq')
  const conf = node.conf({ runtimeConfig: { ips: ['192.168.201.50/24', '10.99.0.1/24'] } })
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.match(add.json, { code: 7, msg: /10\.99\.0\.1/ })
  t.same(node.leftovers(), [])
  t.ok(linkJson(node.vfs[0].netdev!), 'VF home')
})

t.test('a prevResult with an unusable address or interface index is refused with code 7', async (t) => {
  const node = sriovNode(t, 'trp')
  const pod = addNetns(t, 'trp')
  const before = node.snapshot()
  const prev = [
    { interfaces: [{ name: 'eth0' }], ips: [{ address: 'not-an-address', interface: 0 }] },
    { interfaces: [{ name: 'eth0' }], ips: [{ address: '10.0.0.2/24', interface: 4 }] },
    { ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.999' }] },
  ]
  for (const p of prev) {
    const add = await node.run('ADD', node.conf({ prevResult: { cniVersion: '1.0.0', ...p } }), { netns: pod.path })
    t.match(add.json, { code: 7, msg: /prevResult/ }, add.stdout)
    t.same(node.snapshot(), before)
  }
  t.same(node.leftovers(), [])
})

t.test('an IPAM config the IPAM step would refuse is refused before anything changes; DEL of it always succeeds', async (t) => {
  const node = sriovNode(t, 'trb')
  const pod = addNetns(t, 'trb')
  const before = node.snapshot()
  const hl = (ipam: object) => node.conf({ vlan: 10, ipam: { type: 'host-local', dataDir: node.dataDir, ...ipam } })
  const bad: [string, object, { env?: Record<string, string>; args?: string }?][] = [
    ['rangeStart outside the subnet', hl({ ranges: [[{ subnet: '10.9.0.0/24', rangeStart: '10.8.0.5' }]] })],
    ['relative dataDir', hl({ dataDir: 'rel/dir', ranges: [[{ subnet: '10.9.0.0/24' }]] })],
    ['a /33 subnet', hl({ ranges: [[{ subnet: '10.9.0.0/33' }]] })],
    ['no ranges', hl({})],
    ['overlapping range sets', hl({ ranges: [[{ subnet: '10.9.0.0/24' }], [{ subnet: '10.9.0.0/25' }]] })],
    ['a route that is not a CIDR', hl({ ranges: [[{ subnet: '10.9.0.0/24' }]], routes: [{ dst: 'garbage' }] })],
    ['an IPAM plugin not in CNI_PATH', node.conf({ ipam: { type: 'no-such-ipam' } })],
    ['a requested IP that is no IP', hl({ ranges: [[{ subnet: '10.9.0.0/24' }]] }), { args: 'IP=300.0.0.1' }],
  ]
  for (const [what, conf, o] of bad) {
    const add = await node.run('ADD', conf, { netns: pod.path, ...o })
    t.equal(add.json?.code, 7, `${what}: code 7 (${add.stdout.trim()})`)
    t.same(node.snapshot(), before, `${what}: VF untouched`)
    t.same(node.leftovers(), [], `${what}: nothing written`)
    t.equal((await node.run('DEL', conf, { netns: pod.path, ...o })).code, 0, `${what}: DEL succeeds`)
  }
  t.equal((await node.run('ADD', node.conf(), { netns: pod.path, containerId: 'next' })).code, 0, 'the VF is usable')
})

t.test('a finished attachment in a live pod is never taken over, even by another container of the same pod', async (t) => {
  const node = sriovNode(t, 'trt')
  const pod = addNetns(t, 'trt')
  t.equal((await node.run('ADD', node.conf({ vlan: 11 }), { netns: pod.path, containerId: 'first' })).code, 0)
  const cfg = node.vfConfig()
  for (const [id, ifname] of [['second', 'net1'], ['first', 'net2']]) {
    const add = await node.run('ADD', node.conf({ vlan: 12 }), { netns: pod.path, containerId: id, ifname })
    t.match(add.json, { code: 7, msg: /already allocated/ }, `${id}/${ifname}: ${add.stdout}`)
    t.same(node.vfConfig(), cfg, 'the first attachment keeps its VF config')
    t.ok(linkJson('net1', pod.name), 'and its interface')
    t.equal(leaseOf(node, 'first').length, 1, 'and its lease')
  }
  t.equal((await node.run('DEL', node.conf({ vlan: 11 }), { netns: pod.path, containerId: 'first' })).code, 0)
  t.same(node.leftovers(), [])
})

t.test('a full or read-only IPAM store fails ADD cleanly: nothing is left, DEL succeeds', async (t) => {
  const node = sriovNode(t, 'trf')
  const pod = addNetns(t, 'trf')
  const before = node.snapshot()
  const small = path.join(node.dir, 'small')
  fs.mkdirSync(small)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', small])
  t.teardown(() => execFileSync('umount', ['-l', small]))
  const conf = node.conf({ ipam: { type: 'host-local', dataDir: small, ranges: [[{ subnet: '10.9.0.0/24' }]] } })
  // fill it, leaving no room for a lease and its index
  for (let i = 0; ; i++) {
    try {
      fs.writeFileSync(path.join(small, `fill${i}`), Buffer.alloc(4096))
    } catch {
      break
    }
  }
  const full = await node.run('ADD', conf, { netns: pod.path })
  t.equal(full.json?.code, 5, `ADD fails on a full store with an I/O failure: ${full.stdout.trim()}`)
  t.same(node.snapshot(), before, 'VF untouched')
  t.same(node.leftovers(), [], 'no record or mark')
  const leftIn = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? leftIn(path.join(dir, d.name)) : d.name.startsWith('fill') || d.name === 'lock' ? [] : [d.name]))
  t.same(leftIn(small), [], 'no lease, index or temp file')
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
  execFileSync('mount', ['-o', 'remount,ro', small])
  const ro = await node.run('ADD', conf, { netns: pod.path })
  t.equal(ro.json?.code, 5, `ADD fails on a read-only store with an I/O failure: ${ro.stdout.trim()}`)
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
})

t.test('an immutable IPAM store (chattr +i: EPERM even for root) fails ADD with an I/O failure, rolled back (red team 7)', async (t) => {
  const node = sriovNode(t, 'tri')
  const probe = path.join(node.dir, 'chattr-probe')
  fs.mkdirSync(probe)
  try {
    execFileSync('chattr', ['+i', probe], { stdio: 'pipe' })
    execFileSync('chattr', ['-i', probe], { stdio: 'pipe' })
  } catch (e) {
    t.plan(0, `chattr +i is not supported where the test writes (${(e as Error).message.split('\n')[0]})`)
    return
  }
  const pod = addNetns(t, 'tri')
  const before = node.snapshot()
  const dataDir = path.join(node.dir, 'immutable-ipam')
  const conf = node.conf({ ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]] } })
  const store = path.join(dataDir, conf.name as string)
  // a store in use (its lock file there), then made immutable: no lease can be written
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
  execFileSync('chattr', ['+i', store])
  t.teardown(() => execFileSync('chattr', ['-i', store]))
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.json?.code, 5, add.stdout.trim())
  t.match(add.json?.msg, /EPERM.*everything was rolled back/)
  t.same(node.snapshot(), before, 'VF untouched')
  t.same(node.leftovers(), [], 'no record or mark')
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
})

t.test('a FIFO in place of an IPAM store file fails ADD at once with an I/O failure naming it, rolled back; DEL succeeds', async (t) => {
  const node = sriovNode(t, 'trp')
  const pod = addNetns(t, 'trp')
  const before = node.snapshot()
  const dataDir = path.join(node.dir, 'fifo-ipam')
  const conf = node.conf({ ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.9.0.0/24' }]] } })
  fs.mkdirSync(path.join(dataDir, conf.name as string), { recursive: true })
  const hint = path.join(dataDir, conf.name as string, 'last_reserved_ip.0')
  // open(2) of a FIFO waits for a peer: before, ADD hung here until the runtime killed it
  execFileSync('mkfifo', [hint])
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.json?.code, 5, add.stdout.trim())
  t.match(add.json?.msg, /last_reserved_ip\.0 is a FIFO.*not a regular file; remove it.*everything was rolled back/)
  t.same(node.snapshot(), before, 'VF untouched')
  t.same(node.leftovers(), [], 'no record or mark')
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
})

t.test('a log line about another attachment nests its IDs: no key of the line repeats the call\'s own', async (t) => {
  const node = sriovNode(t, 'trk')
  const pod = addNetns(t, 'trk')
  const other = addNetns(t, 'trk2')
  // an ADD killed after its record: the next ADD on the VF, from another pod, reclaims it and logs that (info)
  const killed = await node.run('ADD', node.conf(), { netns: other.path, containerId: 'dead', env: { SRIOV_TEST_FAULTS: '1', SRIOV_FAULT: 'after-record:kill' } })
  t.not(killed.code, 0, 'the first ADD was killed')
  const add = await node.run('ADD', node.conf(), { netns: pod.path, containerId: 'next' })
  t.equal(add.code, 0, add.stdout)
  const line = add.stderr.split('\n').find((l) => l.includes('reclaiming VF'))
  t.ok(line, `the reclaim is logged: ${add.stderr}`)
  for (const key of ['containerId', 'ifname', 'netns']) t.equal(line!.split(`"${key}":`).length - 1, 2, `${key}: once for the call, once nested under reclaimed`)
  t.match(JSON.parse(line!), { containerId: 'next', reclaimed: { containerId: 'dead', netns: other.path } })
  t.equal((await node.run('DEL', node.conf(), { netns: pod.path, containerId: 'next' })).code, 0)
  t.equal((await node.run('DEL', node.conf(), { netns: other.path, containerId: 'dead' })).code, 0)
  t.same(node.leftovers(), [])
})

t.test('a relative logFile is never written (logging goes to stderr, as in sriov-cni)', async (t) => {
  const node = sriovNode(t, 'trw')
  const pod = addNetns(t, 'trw')
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cwd-'))
  t.teardown(() => fs.rmSync(cwd, { recursive: true, force: true }))
  const conf = node.conf({ logLevel: 'DEBUG', logFile: 'evil.log' })
  const add = await node.run('ADD', conf, { netns: pod.path, cwd })
  t.equal(add.code, 0, add.stdout)
  t.same(fs.readdirSync(cwd), [], 'nothing created in the working directory')
  t.match(add.stderr, /logFile \\"evil\.log\\" is not an absolute path/)
  t.match(add.stderr, /"level":20/, 'logLevel DEBUG in upper case is debug')
  t.equal((await node.run('DEL', conf, { netns: pod.path, cwd })).code, 0)
})

t.test('directories of the state directory replaced by symbolic links are refused', async (t) => {
  const node = sriovNode(t, 'trk')
  const pod = addNetns(t, 'trk')
  const elsewhere = path.join(node.dir, 'elsewhere')
  fs.mkdirSync(elsewhere)
  for (const sub of ['lock', 'pci']) {
    fs.rmSync(node.stateDir, { recursive: true, force: true })
    fs.mkdirSync(node.stateDir, { recursive: true })
    fs.symlinkSync(elsewhere, path.join(node.stateDir, sub))
    const add = await node.run('ADD', node.conf(), { netns: pod.path })
    t.match(add.json?.msg, /not a directory \(a symbolic link\?\)/, `${sub}: ${add.stdout}`)
    t.same(fs.readdirSync(elsewhere), [], `nothing created through ${sub}`)
    t.ok(linkJson(node.vfs[0].netdev!), 'the VF stays home')
  }
})

t.test('a pod that renames its VF netdev and changes its MAC still gets it returned by DEL', async (t) => {
  const node = sriovNode(t, 'trr')
  const pod = addNetns(t, 'trr')
  const before = node.snapshot()
  const conf = node.conf({ vlan: 20 })
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  ip('-n', pod.name, 'link', 'set', 'net1', 'down')
  ip('-n', pod.name, 'link', 'set', 'net1', 'name', 'eth5')
  ip('-n', pod.name, 'link', 'set', 'eth5', 'address', '02:aa:bb:cc:dd:05', 'mtu', '1300')
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
  t.same(node.snapshot(), before, 'home under its own name, MAC and MTU')
  t.same(node.leftovers(), [])
})

t.test('a VF netdev moved out of its pod: DEL succeeds and keeps it as lost until it is back, then completes', async (t) => {
  const node = sriovNode(t, 'trm')
  const pod = addNetns(t, 'trm')
  const elsewhere = addNetns(t, 'trm')
  const next = addNetns(t, 'trm')
  const before = node.snapshot()
  const conf = node.conf({ vlan: 21 })
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  ip('-n', pod.name, 'link', 'set', 'net1', 'netns', elsewhere.name)
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, `DEL succeeds: ${del.stdout}`)
  t.match(JSON.parse(fs.readFileSync(path.join(node.stateDir, 'ctr1-net1'), 'utf8')), { state: 'lost' }, 'the record stays, marked lost')
  t.equal(leaseOf(node, 'ctr1').length, 0, 'the IPs are released')
  t.match(node.vfConfig()['0'], { vlan: 0 }, 'the VF config is restored')
  const refused = await node.run('ADD', node.conf({ vlan: 22 }), { netns: next.path, containerId: 'next' })
  t.not(refused.code, 0, `the next pod cannot have a VF whose netdev is away: ${refused.stdout}`)
  t.match(node.vfConfig()['0'], { vlan: 0 }, 'and changes nothing')
  ip('-n', elsewhere.name, 'link', 'set', 'net1', 'netns', pod.name) // back where DEL looks
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
  t.same(node.snapshot(), before, 'the retried DEL brings it home')
  t.same(node.leftovers(), [])
})

t.test('concurrent DELs (runtime and reconciler) of pods on several VFs all complete', async (t) => {
  const node = sriovNode(t, 'trc', { vfs: 8 })
  const pods = node.vfs.map(() => addNetns(t, 'trc'))
  const before = node.snapshot()
  const conf = (i: number) => node.conf({ deviceID: node.vfs[i].pci, vlan: 30 + i })
  for (let round = 0; round < 6; round++) {
    const adds = await Promise.all(pods.map((p, i) => node.run('ADD', conf(i), { netns: p.path, containerId: `c${i}` })))
    t.same(adds.map((a) => a.code), pods.map(() => 0), `round ${round}: every ADD`)
    const dels = await Promise.all(pods.flatMap((p, i) => [0, 1].map(() => node.run('DEL', conf(i), { netns: p.path, containerId: `c${i}` }))))
    t.same(dels.map((d) => d.code), dels.map(() => 0), `round ${round}: every DEL (${dels.filter((d) => d.code).map((d) => d.stdout).join(' ')})`)
    t.same(node.snapshot(), before, 'every VF home')
  }
  t.same(node.leftovers(), [])
})

t.test('more inputs refused before anything changes: the host\'s own netns, an mtu too small for IPv6, old-form prevResults', async (t) => {
  const node = sriovNode(t, 'trv')
  const pod = addNetns(t, 'trv')
  const before = node.snapshot()
  const self = await node.run('ADD', node.conf(), { netns: '/proc/self/ns/net' })
  t.match(self.json, { code: 4, msg: /CNI_NETNS.*host's own network namespace/ })
  ip('link', 'add', node.pf, 'type', 'veth', 'peer', 'name', `${node.pf}x`)
  t.teardown(() => { try { ip('link', 'del', node.pf) } catch {} })
  const v6 = node.conf({ mtu: 1200, ipam: { type: 'host-local', dataDir: node.dataDir, ranges: [[{ subnet: 'fd00:9::/64' }]] } })
  t.match((await node.run('ADD', v6, { netns: pod.path })).json, { code: 7, msg: /invalid mtu: 1200 is below 1280/ })
  const prev = await node.run('ADD', node.conf({ prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } }, '1.0.0'), { netns: pod.path })
  t.match(prev.json, { cniVersion: '1.0.0', code: 7, msg: /invalid prevResult/ }, 'in the config\'s version, code 7')
  const oldForm = await node.run('ADD', node.conf({ prevResult: { cniVersion: '0.2.0', ip4: { ip: '10.0.0.2/24' } } }, '1.0.0'), { netns: pod.path })
  t.match(oldForm.json, { code: 7, msg: /ip4\/ip6 form/ })
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('an IPAM dataDir where no directory can be made (under /proc) fails ADD at once and cleanly; STATUS says IPAM is unavailable', async (t) => {
  const node = sriovNode(t, 'trp')
  const pod = addNetns(t, 'trp')
  const before = node.snapshot()
  const ipam = { type: 'host-local', dataDir: '/proc/sriov-test-ipam', ranges: [[{ subnet: '10.9.1.0/24' }]] }
  const conf = node.conf({ ipam })
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.json?.code, 5, `an I/O failure naming the directory: ${add.stdout.trim()}`)
  t.match(add.json?.msg, /\/proc\/sriov-test-ipam/)
  t.same(node.snapshot(), before, 'VF untouched')
  t.same(node.leftovers(), [], 'no record or mark')
  const status = await node.run('STATUS', node.conf({ cniVersion: '1.1.0', ipam }))
  t.equal(status.json?.code, 50, `STATUS: ${status.stdout.trim()}`)
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0)
})

t.test('a logFile that cannot be written (a directory, a full device, a FIFO) never fails a call: the log goes to stderr', async (t) => {
  const node = sriovNode(t, 'trl')
  const pod = addNetns(t, 'trl')
  const before = node.snapshot()
  // a FIFO would block the open until a reader came: the runtime would time the call out
  const fifo = path.join(node.dir, 'log.fifo')
  execFileSync('mkfifo', [fifo])
  for (const logFile of [os.tmpdir(), '/dev/full', fifo]) {
    const conf = node.conf({ logLevel: 'debug', logFile })
    const add = await node.run('ADD', conf, { netns: pod.path })
    t.equal(add.code, 0, `ADD with logFile ${logFile}: ${add.stdout.trim()}`)
    t.match(add.stderr, /logFile cannot be written; logging to stderr/)
    t.match(add.stderr, /ADD done/, 'the lines go to stderr')
    const del = await node.run('DEL', conf, { netns: pod.path })
    t.equal(del.code, 0, del.stdout)
    t.same(node.snapshot(), before)
    t.same(node.leftovers(), [])
  }
})
