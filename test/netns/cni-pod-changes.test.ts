// What a pod (with CAP_NET_ADMIN in its namespace) may do to its VF netdev before DEL, and what DEL still owes:
// the VF home under its name with its own MAC, MTU and alternative names, whatever the pod added, renamed or
// forged. Alternative names (`ip link property add ... altname`) are taken like names and move with a link; the
// VF may carry its own from udev. Also: a refused address or route in ADD names itself and the step.
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { addNetns, addVeth, ip, linkJson, uniqueName } from '../helpers/netns'
import { sriovNode, type SriovNode } from '../helpers/sriov-node'

const altnames = (name: string, netns?: string): string[] => linkJson(name, netns)?.altnames ?? []

/** A node with one VF and a pod; the VF netdev first gets `vfAltnames`, its own, before the snapshot DEL must restore. */
function scene(t: Test, prefix: string, vfAltnames: string[] = []) {
  const node = sriovNode(t, prefix)
  const pod = addNetns(t, prefix)
  const vf = node.vfs[0]
  for (const n of vfAltnames) ip('link', 'property', 'add', 'dev', vf.netdev!, 'altname', n)
  return { node, pod, vf, before: node.snapshot(), conf: node.conf() }
}

/** The record as an older version, or Go sriov-cni, leaves it: the VF's altnames not noted. */
function forgetAltnames(node: SriovNode): void {
  const file = path.join(node.stateDir, 'ctr1-net1')
  const rec = JSON.parse(fs.readFileSync(file, 'utf8'))
  delete rec.origNetdev.altnames
  fs.writeFileSync(file, JSON.stringify(rec))
}

t.test('altnames a pod gave its VF (the VF\'s host name, a host interface\'s name) are removed by DEL; the VF\'s own come back', async (t) => {
  const own = uniqueName('talo')
  const hostOther = addVeth(t, 'talh')
  const { node, pod, vf, before, conf } = scene(t, 'tal', [own])
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout + add.stderr)
  t.same(altnames('net1', pod.name), [own], 'the VF\'s own altname moved with it')
  ip('-n', pod.name, 'link', 'property', 'add', 'dev', 'net1', 'altname', vf.netdev!)
  ip('-n', pod.name, 'link', 'property', 'add', 'dev', 'net1', 'altname', hostOther.name)
  ip('-n', pod.name, 'link', 'property', 'del', 'dev', 'net1', 'altname', own)
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout + del.stderr)
  const back = linkJson(vf.netdev!)
  t.equal(back?.ifname, vf.netdev, 'home under its own name')
  t.same(back?.altnames ?? [], [own], 'the pod\'s altnames gone, its own given back')
  t.same(node.snapshot(), before, 'MAC, MTU, admin state and VF config as before')
  t.same(node.leftovers(), [], 'no record, mark or lease left')
  t.equal((await node.run('DEL', conf, { netns: pod.path })).code, 0, 'DEL again: nothing to do')
})

t.test('a record of an older version (no altnames noted): DEL drops the pod\'s altnames that collide on the host', async (t) => {
  const { node, pod, vf, before, conf } = scene(t, 'tao')
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  forgetAltnames(node)
  const harmless = uniqueName('taox')
  ip('-n', pod.name, 'link', 'property', 'add', 'dev', 'net1', 'altname', vf.netdev!)
  ip('-n', pod.name, 'link', 'property', 'add', 'dev', 'net1', 'altname', harmless)
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout + del.stderr)
  t.equal(linkJson(vf.netdev!)?.ifname, vf.netdev)
  t.same(altnames(vf.netdev!), [harmless], 'only the colliding one went: which others were the VF\'s own is unknown')
  ip('link', 'property', 'del', 'dev', vf.netdev!, 'altname', harmless)
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('DEL after an older version left the VF on the host under the pod\'s name, its host name an altname of it', async (t) => {
  const { node, pod, vf, before, conf } = scene(t, 'tah')
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  // what the first DEL of an older version left: moved home, the rename back refused
  ip('-n', pod.name, 'link', 'property', 'add', 'dev', 'net1', 'altname', vf.netdev!)
  ip('-n', pod.name, 'link', 'set', 'net1', 'netns', '1')
  t.equal(linkJson('net1')?.ifname, 'net1')
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout + del.stderr)
  t.equal(linkJson(vf.netdev!)?.ifname, vf.netdev)
  t.same(altnames(vf.netdev!), [])
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('altnames of any length and bytes: a long one of the VF\'s own, a pod\'s that is not UTF-8, an own one a host link took', async (t) => {
  const long = `${uniqueName('tabl')}-a-name-longer-than-fifteen-bytes`
  const taken = uniqueName('tabt')
  const { node, pod, vf, before, conf } = scene(t, 'tab', [long, taken])
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.code, 0, add.stdout + add.stderr)
  t.same(altnames('net1', pod.name).sort(), [long, taken].sort(), 'a long altname is no reason to refuse the VF')
  // a name that is not UTF-8 (bytes 78 ff): decoded lossily it could never be named to the kernel again
  execFileSync('bash', ['-c', `ip -n ${pod.name} link property add dev net1 altname $'x\\xff'`])
  const hostLink = addVeth(t, 'tabh')
  ip('link', 'property', 'add', 'dev', hostLink.name, 'altname', taken)
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout + del.stderr)
  t.equal(linkJson(vf.netdev!)?.ifname, vf.netdev)
  t.same(altnames(vf.netdev!), [long], 'the pod\'s gone; its own back, but the one a host link holds now')
  t.match(del.stderr, /could not give the VF netdev back an alternative name it had/)
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('an altname the pod adds again and again while DEL runs does not come home with the VF', async (t) => {
  const { node, pod, vf, conf } = scene(t, 'tas')
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  const squat = uniqueName('tasq')
  const loop = spawn('bash', ['-c', `while :; do ip -n ${pod.name} link property add dev net1 altname ${squat} 2>/dev/null; done`], { stdio: 'ignore' })
  t.teardown(() => loop.kill('SIGKILL'))
  const del = await node.run('DEL', conf, { netns: pod.path })
  loop.kill('SIGKILL')
  t.equal(del.code, 0, del.stdout + del.stderr)
  t.equal(linkJson(vf.netdev!)?.ifname, vf.netdev)
  t.same(altnames(vf.netdev!), [], 'no name of the pod\'s squats on the host')
  t.same(node.leftovers(), [])
})

t.test('a Go sriov-cni-era record (no altnames noted) and a VF with a long altname of its own: DEL works', async (t) => {
  const long = `${uniqueName('tagl')}-udev-style-long-name`
  const { node, pod, vf, before, conf } = scene(t, 'tag', [long])
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  forgetAltnames(node)
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout + del.stderr)
  t.equal(linkJson(vf.netdev!)?.ifname, vf.netdev)
  t.same(altnames(vf.netdev!), [long])
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('ADD refuses a VF whose altname is CNI_IFNAME or a pod interface\'s name, before anything changes', async (t) => {
  const { node, pod, vf, before, conf } = scene(t, 'tar', ['net1'])
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.json.code, 4, add.stdout)
  t.match(add.json.msg, /CNI_IFNAME: net1 is an alternative name of the VF netdev/)
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
  ip('link', 'property', 'del', 'dev', vf.netdev!, 'altname', 'net1')

  const podLink = uniqueName('tarp')
  ip('-n', pod.name, 'link', 'add', podLink, 'type', 'veth', 'peer', 'name', `${podLink}q`)
  ip('link', 'property', 'add', 'dev', vf.netdev!, 'altname', podLink)
  const clash = await node.run('ADD', conf, { netns: pod.path })
  t.equal(clash.json.code, 7, clash.stdout)
  t.match(clash.json.msg, new RegExp(`alternative name "${podLink}", which an interface in ${pod.path} already has`))
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('a refused address or route names itself and the step; everything is rolled back', async (t) => {
  const { node, pod, before, conf: base } = scene(t, 'tae')
  const conf = { ...base, ipam: { ...(base.ipam as object), routes: [{ dst: '10.80.0.0/16', gw: '192.168.77.1' }] } }
  const add = await node.run('ADD', conf, { netns: pod.path })
  t.equal(add.json.code, 999, add.stdout)
  t.match(add.json.msg, /\(step addresses\): cannot add route to 10\.80\.0\.0\/16 via 192\.168\.77\.1 on net1 in pod .*ENETUNREACH/)
  t.match(add.json.msg, /everything was rolled back/)
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('a link the pod made with the VF\'s name and MAC stays in the pod: DEL brings home the VF, found by its index', async (t) => {
  const { node, pod, vf, before, conf } = scene(t, 'tap')
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  const mac = linkJson('net1', pod.name).address
  ip('-n', pod.name, 'link', 'set', 'net1', 'name', 'renamed')
  ip('-n', pod.name, 'link', 'add', 'net1', 'type', 'veth', 'peer', 'name', 'net1peer')
  ip('-n', pod.name, 'link', 'set', 'net1', 'address', mac)
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout + del.stderr)
  t.equal(linkJson(vf.netdev!)?.ifname, vf.netdev, 'the VF is home')
  t.equal(linkJson('net1', pod.name)?.ifname, 'net1', 'the pod\'s own link stays in the pod')
  t.equal(linkJson('net1peer', pod.name)?.ifname, 'net1peer')
  t.same(node.snapshot(), before)
  t.same(node.leftovers(), [])
})

t.test('a link of another type the pod puts at the VF\'s index, name and MAC is never taken for it: the VF stays lost (red team)', async (t) => {
  // on kernels without parent devices (before 5.15) only the link type tells the VF from a link the pod made
  const { node, pod, vf, conf } = scene(t, 'tak')
  t.equal((await node.run('ADD', conf, { netns: pod.path })).code, 0)
  const moved = linkJson('net1', pod.name)
  const away = addNetns(t, 'taka')
  ip('-n', pod.name, 'link', 'set', 'net1', 'netns', away.name)
  ip('-n', pod.name, 'link', 'add', 'net1', 'index', String(moved.ifindex), 'type', 'bridge')
  ip('-n', pod.name, 'link', 'set', 'net1', 'address', moved.address)
  const del = await node.run('DEL', conf, { netns: pod.path })
  t.equal(del.code, 0, del.stdout + del.stderr)
  t.equal(linkJson('net1', pod.name)?.ifindex, moved.ifindex, 'the pod\'s bridge stays in the pod')
  t.equal(linkJson(vf.netdev!), undefined, 'nothing was brought to the host in the VF\'s name')
  const rec = JSON.parse(fs.readFileSync(path.join(node.stateDir, 'ctr1-net1'), 'utf8'))
  t.equal(rec.state, 'lost', 'the record stays, marked lost')
  // the VF comes back to the host (as the kernel returns a VF when the namespace it went to dies; a veth would die
  // with it): the next DEL finishes
  ip('-n', away.name, 'link', 'set', 'net1', 'netns', '1')
  const again = await node.run('DEL', conf, { netns: pod.path })
  t.equal(again.code, 0, again.stdout + again.stderr)
  t.ok(linkJson(vf.netdev!), 'the VF is home')
  t.same(node.leftovers(), [])
})
