// The lease index (.sriov-index) is a hint: whatever is found there, or changed beside it, a lease is never
// lost, never handed out twice, and nothing outside the store is written or removed.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { allocate, check, gc, parseHostLocal, release } from '../../ipam/host-local'
import { parseNetConf } from '../../protocol/netconf'

function setup(t: any) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ipam-index-'))
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }))
  const conf = parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'net1', type: 'sriov', ipam: { type: 'host-local', dataDir, ranges: [[{ subnet: '10.1.2.0/24' }]] } }))
  return { dataDir, dir: path.join(dataDir, 'net1'), index: path.join(dataDir, '.sriov-index', 'net1'), cfg: parseHostLocal(conf, { args: {} }) }
}

t.test('a lease another plugin made in the same timestamp tick as our last change is still found', async (t) => {
  const { dir, cfg } = setup(t)
  await allocate(cfg, 'c1', 'eth0')
  // pin the directory's mtime to a value utimes can set exactly, and let a locked call stamp the index with it
  const tick = new Date(Math.floor(Date.now() / 1000) * 1000)
  fs.utimesSync(dir, tick, tick)
  await check(cfg, 'c1', 'eth0')
  // the reference host-local adds a lease; on a kernel with coarse timestamps the mtime stays in the same tick
  fs.writeFileSync(path.join(dir, '10.1.2.77'), 'r1\r\neth0')
  fs.utimesSync(dir, tick, tick)
  await t.resolves(check(cfg, 'r1', 'eth0'), 'the reference\'s lease is seen')
  await release(cfg, 'r1', 'eth0')
  t.notOk(fs.existsSync(path.join(dir, '10.1.2.77')), 'and released by our DEL')
})

t.test('an index file that is torn, emptied or names something that is not an address (../victim) is not believed', async (t) => {
  const { dataDir, index, cfg } = setup(t)
  await allocate(cfg, 'c1', 'eth0')
  const victim = path.join(dataDir, 'victim')
  fs.writeFileSync(victim, 'c1\r\neth0') // content a lease of c1 would have
  fs.appendFileSync(path.join(index, 'c1@eth0'), '../victim\n')
  await release(cfg, 'c1', 'eth0')
  t.ok(fs.existsSync(victim), 'outside the network directory: untouched')
  t.same(fs.readdirSync(path.join(dataDir, 'net1')).sort(), ['last_reserved_ip.0', 'lock'], 'c1\'s own lease released')
  // the stamp still matches the directory: only the index file changed, in place
  for (const damage of ['', '10.1.2.', 'garbage\n']) {
    const got = await allocate(cfg, 'c2', 'eth0')
    fs.writeFileSync(path.join(index, 'c2@eth0'), damage)
    await t.rejects(allocate(cfg, 'c2', 'eth0'), /duplicate allocation/, `a second ADD of c2 is refused (index file ${JSON.stringify(damage)})`)
    await release(cfg, 'c2', 'eth0')
    t.notOk(fs.existsSync(path.join(dataDir, 'net1', got.ips![0].address.split('/')[0])), 'and DEL finds its lease')
  }
})

t.test('a directory where an index file belongs fails no DEL and no GC', async (t) => {
  const { dir, index, cfg } = setup(t)
  await allocate(cfg, 'x', 'eth0')
  fs.rmSync(path.join(index, 'x@eth0'))
  fs.mkdirSync(path.join(index, 'x@eth0'))
  fs.mkdirSync(path.join(index, '.tmp-x@eth0.1.a'))
  await t.resolves(release(cfg, 'x', 'eth0'))
  t.notOk(fs.readdirSync(dir).some((n) => n.startsWith('10.')), 'the lease is released')
  await t.resolves(gc(cfg, []))
})

t.test('a symlink in place of .sriov-index is never followed: nothing written or removed where it points', async (t) => {
  const { dataDir, dir, cfg } = setup(t)
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'ipam-elsewhere-'))
  t.teardown(() => fs.rmSync(elsewhere, { recursive: true, force: true }))
  fs.mkdirSync(path.join(elsewhere, 'net1'))
  for (const f of ['a', 'b', 'net1/c']) fs.writeFileSync(path.join(elsewhere, f), 'keep')
  fs.symlinkSync(elsewhere, path.join(dataDir, '.sriov-index'))
  const a = await allocate(cfg, 'c1', 'eth0')
  const b = await allocate(cfg, 'c2', 'eth0')
  t.not(a.ips![0].address, b.ips![0].address)
  await t.rejects(allocate(cfg, 'c1', 'eth0'), /duplicate allocation|already/, 'a second ADD of c1 is still refused (leases scanned)')
  await release(cfg, 'c1', 'eth0')
  await gc(cfg, [{ containerID: 'c2', ifname: 'eth0' }])
  t.same(fs.readdirSync(elsewhere).sort(), ['a', 'b', 'net1'])
  t.same(fs.readdirSync(path.join(elsewhere, 'net1')), ['c'])
  t.same(fs.readdirSync(dir).filter((n) => n.startsWith('10.')), [b.ips![0].address.split('/')[0]])
})

t.test('an index file naming another attachment\'s lease does not hide the attachment\'s own; it is written again from the leases', async (t) => {
  const { dir, index, cfg } = setup(t)
  const c1 = (await allocate(cfg, 'c1', 'eth0')).ips![0].address.split('/')[0]
  const r1 = (await allocate(cfg, 'r1', 'eth0')).ips![0].address.split('/')[0]
  fs.writeFileSync(path.join(index, 'c1@eth0'), `${r1}\n`) // in place: the stamp still matches
  await t.rejects(allocate(cfg, 'c1', 'eth0'), /duplicate allocation/, 'c1 still holds its address')
  t.equal(fs.readFileSync(path.join(index, 'c1@eth0'), 'utf8'), `${c1}\n`, 'healed from the lease files')
  await release(cfg, 'c1', 'eth0')
  t.notOk(fs.existsSync(path.join(dir, c1)), 'released')
  t.ok(fs.existsSync(path.join(dir, r1)), 'r1\'s lease untouched')
})

t.test('a FIFO or a link in place of a lease, a hint or the index is never read: no wait, no entry from outside the store', async (t) => {
  const { dataDir, dir, index, cfg } = setup(t)
  await allocate(cfg, 'c1', 'eth0')
  const outside = path.join(dataDir, 'outside')
  fs.writeFileSync(outside, 'VICTIM')
  // the next address the allocator would try, the range's hint, the index's stamp and the attachment's index file
  fs.symlinkSync(outside, path.join(dir, '10.1.2.3'))
  execFileSync('mkfifo', [path.join(dir, '10.1.2.4')])
  fs.rmSync(path.join(dir, 'last_reserved_ip.0'))
  execFileSync('mkfifo', [path.join(dir, 'last_reserved_ip.0')])
  fs.rmSync(path.join(index, '.stamp'), { force: true })
  execFileSync('mkfifo', [path.join(index, '.stamp')])
  const got = await allocate(cfg, 'c2', 'eth0').catch((e: Error) => e)
  t.match(String(got instanceof Error ? got.message : ''), /last_reserved_ip\.0 is a FIFO/, 'the hint that cannot be written is named')
  t.notOk(fs.readdirSync(index).some((n) => n.startsWith('VICTIM')), 'no index entry made from a link\'s target')
  t.same(fs.readFileSync(outside, 'utf8'), 'VICTIM', 'and nothing written through it')
  fs.rmSync(path.join(dir, 'last_reserved_ip.0'))
  const ok = await allocate(cfg, 'c2', 'eth0')
  t.notMatch(ok.ips![0].address, /^10\.1\.2\.[34]\//, 'the link and the FIFO are passed over as taken')
  await t.resolves(release(cfg, 'c2', 'eth0'))
  await t.resolves(release(cfg, 'c1', 'eth0'))
})
