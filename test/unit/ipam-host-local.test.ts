import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { allocate, check, gc, parseHostLocal, release } from '../../ipam/host-local'
import { parseNetConf } from '../../protocol/netconf'

function setup(t: any, ipam: object, extra: object = {}, args: Record<string, string> = {}) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipam-'))
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const conf = parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'sriov', ipam: { type: 'host-local', dataDir, ...ipam }, ...extra }))
  return { dir: path.join(dataDir, 'net1'), cfg: parseHostLocal(conf, { args }) }
}
const small = { ranges: [[{ subnet: '10.1.2.0/29' }]] } // usable .1-.6, gateway .1

t.test('leases are reference-format files; round-robin continues after last_reserved_ip', async (t) => {
  const { dir, cfg } = setup(t, small)
  const a = await allocate(cfg, 'ctr-a', 'net1')
  t.same(a.ips, [{ address: '10.1.2.2/29', gateway: '10.1.2.1' }])
  t.equal(fs.readFileSync(path.join(dir, '10.1.2.2'), 'utf8'), 'ctr-a\r\nnet1')
  t.equal(fs.readFileSync(path.join(dir, 'last_reserved_ip.0'), 'utf8'), '10.1.2.2')
  t.equal(fs.statSync(path.join(dir, 'lock')).mode & 0o7777, 0o750, 'the lock file with the mode the reference gives it')
  t.equal(fs.statSync(path.join(dir, '10.1.2.2')).mode & 0o7777, 0o644)
  await release(cfg, 'ctr-a', 'net1')
  const b = await allocate(cfg, 'ctr-b', 'net1')
  t.equal(b.ips![0].address, '10.1.2.3/29', 'does not reuse the address just released')
})

t.test('wraps around, skips the gateway, and reports exhaustion with the range', async (t) => {
  const { dir, cfg } = setup(t, small)
  const got: string[] = []
  for (let i = 0; i < 5; i++) got.push((await allocate(cfg, `c${i}`, 'eth0')).ips![0].address)
  t.same(got, ['10.1.2.2/29', '10.1.2.3/29', '10.1.2.4/29', '10.1.2.5/29', '10.1.2.6/29'])
  await t.rejects(allocate(cfg, 'c9', 'eth0'), { code: 11, message: /no IP addresses available in range set: 10\.1\.2\.1-10\.1\.2\.6/ })
  await release(cfg, 'c1', 'eth0')
  t.equal((await allocate(cfg, 'c10', 'eth0')).ips![0].address, '10.1.2.3/29', 'wrapped around to the freed address')
  t.notOk(fs.existsSync(path.join(dir, '10.1.2.1')), 'gateway never leased')
})

t.test('duplicate attachment is rejected; its first lease survives', async (t) => {
  const { dir, cfg } = setup(t, small)
  await allocate(cfg, 'ctr', 'net1')
  await t.rejects(allocate(cfg, 'ctr', 'net1'), { message: /10\.1\.2\.2 has been allocated to ctr, duplicate allocation is not allowed/ })
  t.equal(fs.readFileSync(path.join(dir, '10.1.2.2'), 'utf8'), 'ctr\r\nnet1')
})

t.test('requested IPs: taken, gateway refused, busy refused, leftovers release what was taken', async (t) => {
  const dual = { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/64' }]] }
  const ok = setup(t, dual, {}, { IP: '10.1.2.50' })
  const r = await allocate(ok.cfg, 'c1', 'net1')
  t.same(r.ips!.map((i) => i.address), ['10.1.2.50/24', 'fd00::2/64'])
  await t.rejects(allocate(setup(t, dual, {}, { IP: '10.1.2.1' }).cfg, 'c2', 'net1'), { message: /requested ip 10\.1\.2\.1 is subnet's gateway/ })
  const busy = setup(t, dual, {}, { IP: '10.1.2.50' })
  await allocate(busy.cfg, 'c1', 'net1')
  await t.rejects(allocate(busy.cfg, 'c2', 'net1'), { message: /10\.1\.2\.50 is not available/ })
  const left = setup(t, dual, { runtimeConfig: { ips: ['10.1.2.9/24', '10.1.2.10/24'] } })
  await t.rejects(allocate(left.cfg, 'c3', 'net1'), { message: /failed to allocate all requested IPs: 10\.1\.2\.10/ })
  t.same(fs.readdirSync(left.dir).filter((f) => /^[0-9a-f]/.test(f)), [], 'partial allocation released')
})

t.test('DEL releases legacy ID-only leases, is idempotent; CHECK needs a lease', async (t) => {
  const { dir, cfg } = setup(t, small)
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, '10.1.2.5'), 'old-ctr')
  await check(cfg, 'old-ctr', 'eth0')
  await release(cfg, 'old-ctr', 'eth0')
  t.notOk(fs.existsSync(path.join(dir, '10.1.2.5')))
  await release(cfg, 'old-ctr', 'eth0')
  await t.rejects(check(cfg, 'old-ctr', 'eth0'), { code: 7, message: /failed to find address/ })
})

t.test('a lease file with white space around its content is the attachment\'s, as the reference trims it (red team 9)', async (t) => {
  const { dir, cfg } = setup(t, small)
  fs.mkdirSync(dir, { recursive: true })
  // Go's TrimSpace: U+0085 (NEL) is white space to it, U+FEFF (BOM) is not (red team 10: trim() has it the other way)
  const files = { '10.1.2.2': 'a1\r\neth0\n', '10.1.2.3': 'a2\r\neth0\r\n', '10.1.2.4': '\na3\r\neth0', '10.1.2.5': 'a4\r\neth0\u0085', '10.1.2.6': 'keep\r\neth0\u0085', '10.1.2.7': '\ufeffa1\r\neth0' }
  for (const [ip, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, ip), content)
  await check(cfg, 'a1', 'eth0')
  await t.rejects(allocate(cfg, 'a1', 'eth0'), { message: /duplicate allocation/ }, 'a second address for a1 is refused, as the reference refuses it')
  for (const id of ['a1', 'a2', 'a3', 'a4']) await release(cfg, id, 'eth0')
  t.same(fs.readdirSync(dir).filter((f) => f.startsWith('10.')).sort(), ['10.1.2.6', '10.1.2.7'], 'DEL released each of them, and not the file that is nobody\'s to the reference')
  t.same(await gc(cfg, [{ containerID: 'keep', ifname: 'eth0' }]), ['10.1.2.7'], 'GC keeps the lease of a valid attachment')
  t.ok(fs.existsSync(path.join(dir, '10.1.2.6')))
})

t.test('GC keeps valid attachments, lock and last_reserved_ip; removes the rest', async (t) => {
  const { dir, cfg } = setup(t, small)
  await allocate(cfg, 'keep', 'net1')
  await allocate(cfg, 'gone', 'net1')
  await allocate(cfg, 'keep', 'net2')
  fs.writeFileSync(path.join(dir, '10.1.2.6'), 'legacy-gone')
  fs.writeFileSync(path.join(dir, '.tmp-10.1.2.9.123.x'), 'half')
  const released = await gc(cfg, [{ containerID: 'keep', ifname: 'net1' }])
  t.same(released.sort(), ['10.1.2.3', '10.1.2.4', '10.1.2.6'])
  t.same(fs.readdirSync(dir).sort(), ['10.1.2.2', 'last_reserved_ip.0', 'lock'])
  t.equal((await allocate(cfg, 'new', 'net1')).ips![0].address, '10.1.2.5/29')
})

t.test('bad IDs never reach the file system', async (t) => {
  const { dir, cfg } = setup(t, small)
  await t.rejects(allocate(cfg, '../etc', 'net1'), { code: 4 })
  await t.rejects(release(cfg, 'c', 'a/b'), { code: 4 })
  t.same(fs.readdirSync(path.dirname(dir)), [], 'no directory or file created')
})

t.test('resolvConf becomes the result dns; routes pass through', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'resolv-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'resolv.conf'), '# comment\nnameserver 10.0.0.10\nnameserver fd00::10\ndomain cluster.local\nsearch svc.cluster.local cluster.local\noptions ndots:5 edns0\n')
  const { cfg } = setup(t, { ...small, resolvConf: path.join(dir, 'resolv.conf'), routes: [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16', gw: '10.1.2.1' }] })
  const r = await allocate(cfg, 'dns', 'net1')
  t.same(r.dns, { nameservers: ['10.0.0.10', 'fd00::10'], domain: 'cluster.local', search: ['svc.cluster.local', 'cluster.local'], options: ['ndots:5', 'edns0'] })
  t.same(r.routes, [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16', gw: '10.1.2.1' }])
  const missing = setup(t, { ...small, resolvConf: path.join(dir, 'nope') })
  await t.rejects(allocate(missing.cfg, 'dns', 'net1'), { code: 5, message: /resolvConf/ })
})
