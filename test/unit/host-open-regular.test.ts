// Files that must be regular ones: a FIFO planted in their place is refused at once (open(2) would otherwise
// wait forever for a peer), and so are a directory and a link; nothing is read or written through them.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { readFileNoFollow } from '../../host/atomic-file'
import { lockFile } from '../../host/flock'
import { writeHintFile } from '../../host/hint-file'
import { openRegular } from '../../host/open-regular'
import { ATTACHMENT_FORMAT } from '../../state/attachment'
import { StateStore, UnreadableRecord } from '../../state/store'

function scratch(t: any): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regular-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}
const fifo = (p: string) => execFileSync('mkfifo', [p])

t.test('openRegular: a FIFO (read or write), a directory or a socket is refused; a regular file opens', async (t) => {
  const dir = scratch(t)
  fifo(path.join(dir, 'f'))
  t.throws(() => openRegular(path.join(dir, 'f'), fs.constants.O_RDONLY), { code: 'ENOTREG', message: /f is a FIFO, not a regular file; remove it/ })
  t.throws(() => openRegular(path.join(dir, 'f'), fs.constants.O_WRONLY), { code: 'ENOTREG' }, 'no reader: refused, not waited for')
  t.throws(() => openRegular(dir, fs.constants.O_RDONLY), { code: 'ENOTREG', message: /is a directory/ })
  t.throws(() => openRegular('/dev/null', fs.constants.O_RDONLY), { code: 'ENOTREG', message: /device/ })
  fs.writeFileSync(path.join(dir, 'r'), 'x')
  const { fd, stats } = openRegular(path.join(dir, 'r'), fs.constants.O_RDONLY)
  t.ok(stats.isFile())
  fs.closeSync(fd)
  t.throws(() => openRegular(path.join(dir, 'missing'), fs.constants.O_RDONLY), { code: 'ENOENT' }, 'the kernel\'s own errors unchanged')
})

t.test('reads, hints and locks refuse a FIFO in their file\'s place instead of waiting for a peer', async (t) => {
  const dir = scratch(t)
  const f = path.join(dir, 'planted')
  fifo(f)
  t.throws(() => readFileNoFollow(f), { code: 'ENOTREG' })
  t.throws(() => writeHintFile(f, '10.1.2.3', 0o644), { code: 'ENOTREG' })
  await t.rejects(lockFile(f), /cannot lock .*planted: it is a FIFO, not a regular file; remove it/)
  t.ok(fs.statSync(f).isFIFO(), 'and it is left as it was')
})

t.test('a link, a directory or a FIFO in a record\'s place reads as an unreadable record (DEL sets it aside and goes on)', async (t) => {
  const root = scratch(t)
  const s = new StateStore({ root })
  const outside = path.join(scratch(t), 'outside.json')
  fs.writeFileSync(outside, JSON.stringify({ format: ATTACHMENT_FORMAT, containerId: 'c', ifname: 'net1' }))
  fs.symlinkSync(outside, path.join(root, 'c1-net1'))
  fs.mkdirSync(path.join(root, 'c2-net1'))
  fifo(path.join(root, 'c3-net1'))
  for (const id of ['c1', 'c2', 'c3']) {
    const e = await s.loadAttachment(id, 'net1').catch((err: Error) => err)
    t.ok(e instanceof UnreadableRecord, `${id}: unreadable (${(e as Error)?.message})`)
    const aside = await s.setAsideAttachment(id, 'net1')
    t.match(path.basename(aside), new RegExp(`^\\.unreadable-${id}-net1\\.`))
    t.equal(await s.loadAttachment(id, 'net1'), undefined, `${id}: gone from its place`)
  }
  t.equal(fs.readFileSync(outside, 'utf8').length > 0, true, 'the link\'s target is untouched')
  t.same(await s.listAttachments(), [], 'none of them is listed as a record')
})
