// Whole-or-nothing writes beside the file: the temporary name must itself be a valid file name, and a sweep of
// one file's leftovers must not touch another's.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { removeTempFilesOf, writeFileAtomic } from '../../host/atomic-file'

t.test('a file whose name fills 255 bytes is written whole; its temporary name fits too (red team 9)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const length of [1, 200, 214, 215, 255]) {
    const file = path.join(dir, `${'d'.repeat(length - 1)}x`)
    writeFileAtomic(file, `content ${length}`, { mode: 0o644 })
    t.equal(fs.readFileSync(file, 'utf8'), `content ${length}`, `a name of ${length} bytes`)
  }
  t.same(fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-')), [], 'no temporary file left')
})

t.test("the leftovers of two long names that start alike are told apart: each sweep removes only its own file's", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const common = 'r'.repeat(200)
  const a = path.join(dir, `${common}-0000:01:10.1-device.json`)
  const b = path.join(dir, `${common}-0000:01:10.3-device.json`)
  const leftovers: string[] = []
  for (const file of [a, b]) {
    const spy = fs.renameSync
    fs.renameSync = (from: fs.PathLike, to: fs.PathLike) => {
      fs.copyFileSync(from, `${from}`.replace(/\.\d+\.[a-z0-9]+$/, '.1.left'))
      leftovers.push(`${from}`.replace(/\.\d+\.[a-z0-9]+$/, '.1.left'))
      spy(from, to)
    }
    try {
      writeFileAtomic(file, 'x')
    } finally {
      fs.renameSync = spy
    }
  }
  t.equal(new Set(leftovers).size, 2, 'two distinct temporary names')
  for (const l of leftovers) t.ok(Buffer.byteLength(path.basename(l)) <= 255)
  removeTempFilesOf(a)
  t.same(fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-')).map((f) => path.join(dir, f)), [leftovers[1]], "a's sweep leaves b's")
  removeTempFilesOf(b)
  t.same(fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-')), [])
})
