// The native addons shipped in the images (/usr/lib/sriov-ts) are what lets both executables run under a
// read-only root. They are only read, and only trusted like the copies the executables write: equal to the
// embedded addon, not a link, and in a directory nobody but root can change. Anything else is passed over.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { runContainer, type Bind } from '../helpers/container'
import { ROOT } from '../helpers/plugin-exec'

const SHIPPED = path.join(ROOT, 'dist', 'lib', 'sriov-ts')
const netlinkFile = () => fs.readdirSync(SHIPPED).find((f) => f.endsWith('-netlink.node'))!

/**
 * sriovdp, in the device plugin image under a read-only root, with an empty config: it loads the netlink addon
 * at start-up (link events) and exits 1 when it cannot; `started` once it logged that it runs.
 */
async function sriovdp(t: Test, binds: Bind[] = [], env: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'addons-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.mkdirSync(path.join(dir, 'pcidp'))
  fs.mkdirSync(path.join(dir, 'device-plugins'))
  fs.writeFileSync(path.join(dir, 'pcidp', 'config.json'), '{"resourceList":[]}')
  const c = runContainer(t, {
    image: 'sriov-device-plugin', readOnlyRoot: true, env,
    binds: [{ source: path.join(dir, 'pcidp'), target: '/etc/pcidp', readOnly: true }, { source: path.join(dir, 'device-plugins'), target: '/var/lib/kubelet/device-plugins' }, ...binds],
    command: ['/usr/bin/sriovdp', '--http-addr', ''],
  })
  const code = await Promise.race([c.exited(), new Promise<'started'>((resolve) => {
    const poll = setInterval(() => /"msg":"sriovdp started"/.test(c.stderr) && (clearInterval(poll), resolve('started')), 20)
    c.child.once('exit', () => clearInterval(poll))
  })])
  return { code, stderr: c.stderr }
}

/** A copy of the shipped directory, changed by `change`, to bind over /usr/lib/sriov-ts. */
function shippedCopy(t: Test, change: (dir: string) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shipped-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.chmodSync(dir, 0o755)
  for (const f of fs.readdirSync(SHIPPED)) fs.copyFileSync(path.join(SHIPPED, f), path.join(dir, f))
  change(dir)
  return dir
}

t.test('the image as built: the shipped copies load, nothing is written', async (t) => {
  const r = await sriovdp(t)
  t.equal(r.code, 'started', r.code === 'started' ? 'sriovdp runs' : r.stderr)
})

t.test('a shipped copy that differs from the embedded addon is not loaded', async (t) => {
  const dir = shippedCopy(t, (d) => fs.appendFileSync(path.join(d, netlinkFile()), 'x'))
  const r = await sriovdp(t, [{ source: dir, target: '/usr/lib/sriov-ts', readOnly: true }])
  t.equal(r.code, 1)
  t.match(r.stderr, new RegExp(`cannot load native addon netlink\\.node.*/usr/lib/sriov-ts: ${netlinkFile()} is missing or differs from the executable's copy`))
})

t.test('a shipped copy of the right size with other bytes (a bad disk, a tampered image) is not loaded either', async (t) => {
  const dir = shippedCopy(t, (d) => {
    const f = path.join(d, netlinkFile())
    const fd = fs.openSync(f, 'r+')
    fs.writeSync(fd, Buffer.alloc(4096, 0xcc), 0, 4096, Math.floor(fs.statSync(f).size / 2))
    fs.closeSync(fd)
  })
  const r = await sriovdp(t, [{ source: dir, target: '/usr/lib/sriov-ts', readOnly: true }])
  t.equal(r.code, 1, 'refused with a message, not a crash in dlopen')
  t.match(r.stderr, /is missing or differs from the executable's copy/)
})

t.test('a shipped directory others can write, or a link in place of the addon, is not trusted', async (t) => {
  const open = shippedCopy(t, (d) => fs.chmodSync(d, 0o777))
  const r = await sriovdp(t, [{ source: open, target: '/usr/lib/sriov-ts', readOnly: true }])
  t.equal(r.code, 1)
  t.match(r.stderr, /\/usr\/lib\/sriov-ts must be owned by uid 0 and writable by nobody else \(it is uid 0, mode 777\)/)
  const linked = shippedCopy(t, (d) => {
    const f = path.join(d, netlinkFile())
    fs.renameSync(f, `${f}.real`)
    fs.symlinkSync(`${f}.real`, f)
  })
  const l = await sriovdp(t, [{ source: linked, target: '/usr/lib/sriov-ts', readOnly: true }])
  t.equal(l.code, 1)
  t.match(l.stderr, /is missing or differs from the executable's copy/)
})

t.test('without the shipped copies: a writable directory named by SRIOV_ADDON_DIR is used; the read-only root offers none', async (t) => {
  const empty = shippedCopy(t, (d) => {
    for (const f of fs.readdirSync(d)) fs.rmSync(path.join(d, f))
  })
  const noWhere = await sriovdp(t, [{ source: empty, target: '/usr/lib/sriov-ts', readOnly: true }], { SRIOV_ADDON_DIR: '/tmp/addons' })
  t.equal(noWhere.code, 1, 'not even /tmp: it is read-only too')
  t.match(noWhere.stderr, /cannot load native addon netlink\.node/)
  const writable = fs.mkdtempSync(path.join(os.tmpdir(), 'addon-dir-'))
  t.teardown(() => fs.rmSync(writable, { recursive: true, force: true }))
  fs.chmodSync(writable, 0o700)
  const r = await sriovdp(t, [{ source: empty, target: '/usr/lib/sriov-ts', readOnly: true }, { source: writable, target: '/var/lib/sriov-addons' }], { SRIOV_ADDON_DIR: '/var/lib/sriov-addons' })
  t.equal(r.code, 'started', r.code === 'started' ? 'sriovdp runs' : r.stderr)
  t.ok(fs.readdirSync(writable).some((f) => f.endsWith('-netlink.node')), 'written there')
})
