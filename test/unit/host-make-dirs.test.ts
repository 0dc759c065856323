import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { makeDirs } from '../../host/make-dirs'

t.test('makeDirs creates missing parents with the mode, accepts what exists, and fails where mkdir cannot succeed', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mkd-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  const deep = path.join(root, 'a/b/c')
  const umask = process.umask(0)
  t.teardown(() => process.umask(umask))
  makeDirs(deep, 0o750)
  t.equal(fs.statSync(deep).mode & 0o777, 0o750)
  t.equal(fs.statSync(path.join(root, 'a')).mode & 0o777, 0o750)
  t.doesNotThrow(() => makeDirs(deep, 0o700), 'an existing directory is fine')
  fs.writeFileSync(path.join(root, 'file'), '')
  t.throws(() => makeDirs(path.join(root, 'file'), 0o755), /exists and is not a directory/)
  t.throws(() => makeDirs(path.join(root, 'file/x'), 0o755), { code: 'ENOTDIR' })
  // Node's own recursive mkdirSync never returns here: procfs answers ENOENT under a directory that exists
  t.throws(() => makeDirs('/proc/sriov-test-no-such/x', 0o755), { code: 'ENOENT' })
})

t.test('makeDirs: a directory another process makes between our parent and our own mkdir is fine (concurrent first ADDs)', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mkd-'))
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }))
  const target = path.join(root, 'a/b/net1')
  let calls = 0
  const racing = {
    ...fs,
    mkdirSync(p: fs.PathLike, o?: fs.MakeDirectoryOptions) {
      // the second attempt at the target, once its parents exist: the other process gets there first
      if (p === target && ++calls === 2) fs.mkdirSync(p, o)
      return fs.mkdirSync(p, o)
    },
  }
  const { makeDirs: racy } = t.mockRequire('../../host/make-dirs', { 'node:fs': racing }) as typeof import('../../host/make-dirs')
  t.doesNotThrow(() => racy(target, 0o755))
  t.equal(calls, 2, 'the race happened')
  t.ok(fs.statSync(target).isDirectory())
})
