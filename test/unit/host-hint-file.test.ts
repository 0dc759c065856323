import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { writeHintFile } from '../../host/hint-file'

t.test('writeHintFile: created with exactly the mode, rewritten in place, a shorter content leaves nothing after it', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hint-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'last_reserved_ip.0')
  const umask = process.umask(0o077)
  t.teardown(() => process.umask(umask))
  writeHintFile(file, '10.1.2.100', 0o644)
  t.equal(fs.statSync(file).mode & 0o777, 0o644, 'the umask does not narrow it')
  const inode = fs.statSync(file).ino
  writeHintFile(file, '10.1.2.9', 0o644)
  t.equal(fs.readFileSync(file, 'utf8'), '10.1.2.9', 'no "0" left over from the longer address')
  t.equal(fs.statSync(file).ino, inode, 'the same file, rewritten: no temp file, no rename')
  t.same(fs.readdirSync(dir), ['last_reserved_ip.0'])
})

t.test('writeHintFile never writes through a symbolic link planted in its place', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hint-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'target'), 'untouched')
  fs.symlinkSync(path.join(dir, 'target'), path.join(dir, '.stamp'))
  t.throws(() => writeHintFile(path.join(dir, '.stamp'), '123', 0o644), { code: 'ELOOP' })
  t.equal(fs.readFileSync(path.join(dir, 'target'), 'utf8'), 'untouched')
})

t.test('writeHintFile: a hint someone else wrote keeps its mode; a dangling link in its place is refused too', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hint-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  // the reference host-local writes last_reserved_ip with the mode its umask leaves
  const file = path.join(dir, 'last_reserved_ip.0')
  fs.writeFileSync(file, '10.1.2.3', { mode: 0o600 })
  writeHintFile(file, '10.1.2.4', 0o644)
  t.equal(fs.readFileSync(file, 'utf8'), '10.1.2.4')
  t.equal(fs.statSync(file).mode & 0o777, 0o600, 'its mode is left as it was')
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, '.stamp'))
  t.throws(() => writeHintFile(path.join(dir, '.stamp'), '123', 0o644), { code: 'ELOOP' })
  t.notOk(fs.existsSync(path.join(dir, 'nowhere')), 'nothing created through the link')
})
