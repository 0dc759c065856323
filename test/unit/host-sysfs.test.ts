// sysfs reads: a missing file is "absent", but running out of descriptors is no answer about the device and
// must fail the pass (taken for "absent", a rescan would publish empty device lists).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildSync } from 'esbuild'
import t from 'tap'

const ROOT = path.resolve(__dirname, '../..')

t.test('out of descriptors, reads and listings throw EMFILE; a missing file still reads as absent', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sysfs-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  fs.mkdirSync(path.join(root, 'dir'))
  fs.writeFileSync(path.join(root, 'dir/vendor'), '0x8086\n')
  fs.symlinkSync('../drivers/ixgbevf', path.join(root, 'dir/driver'))
  const bundle = path.join(root, 'sysfs.cjs')
  fs.writeFileSync(bundle, buildSync({ entryPoints: [path.join(ROOT, 'host/sysfs.ts')], bundle: true, platform: 'node', format: 'cjs', write: false }).outputFiles[0].text)
  const script = `
    const { Sysfs } = require(${JSON.stringify(bundle)})
    const s = new Sysfs(${JSON.stringify(root)})
    const calls = { read: () => s.read('dir/vendor'), linkName: () => s.linkName('dir/driver'), list: () => s.list('dir'), exists: () => s.exists('dir/vendor'), ancestors: () => s.ancestors('dir') }
    const out = {}
    const fds = []
    try { for (;;) fds.push(require('fs').openSync('/dev/null', 'r')) } catch {}
    for (const [k, f] of Object.entries(calls)) { try { out[k] = 'returned ' + JSON.stringify(f()) } catch (e) { out[k] = e.code } }
    require('fs').closeSync(fds.pop()); require('fs').closeSync(fds.pop())
    out.after = [s.read('dir/vendor'), s.read('dir/missing') ?? 'absent', s.list('nothing').length]
    process.stdout.write(JSON.stringify(out))
  `
  const out = JSON.parse(execFileSync('prlimit', ['--nofile=400', process.execPath, '-e', script], { encoding: 'utf8' }))
  // readlink, access and realpath take no descriptor: they still answer
  t.same(out, { read: 'EMFILE', list: 'EMFILE', linkName: 'returned "ixgbevf"', exists: 'returned true', ancestors: 'returned [""]', after: ['0x8086', 'absent', 0] })
})
