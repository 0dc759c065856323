// The CNI installer in deploy/cni-entrypoint.sh (the sriov-cni image's arguments) with the real plugin: atomic
// replacement under a runtime that keeps executing the plugin, and failed installs that never replace it.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/plugin-exec'

const ENTRY = path.join(ROOT, 'deploy/cni-entrypoint.sh')
const SRIOV = path.join(ROOT, 'dist/bin/sriov')

function install(dir: string, source: string) {
  return spawnSync('sh', [ENTRY, `--cni-bin-dir=${dir}`, `--sriov-bin-file=${source}`, '--no-sleep'], { encoding: 'utf8' })
}
function tmpdir(t: any): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'install-'))
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }))
  return d
}
function installAsync(dir: string, source: string): Promise<number | null> {
  return new Promise((resolve) => {
    const c = spawn('sh', [ENTRY, `--cni-bin-dir=${dir}`, `--sriov-bin-file=${source}`, '--no-sleep'], { stdio: 'ignore' })
    c.on('close', resolve)
  })
}
const sha = (f: string) => execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0]

t.test('installs, verifies the checksum and VERSION, and replaces atomically while the plugin keeps running', async (t) => {
  const dir = tmpdir(t)
  const first = install(dir, SRIOV)
  t.equal(first.status, 0, first.stderr)
  t.equal(sha(path.join(dir, 'sriov')), sha(SRIOV))
  t.match(first.stdout, /installed .*sriov/)

  // a runtime calling the plugin in a loop while it is replaced: every call must succeed
  let calls = 0
  let failures = 0
  let running = true
  const loop = (async () => {
    while (running) {
      const code = await new Promise<number | null>((resolve) => {
        const c = spawn(path.join(dir, 'sriov'), [], { env: { CNI_COMMAND: 'VERSION' }, stdio: ['ignore', 'pipe', 'pipe'] })
        c.on('error', () => resolve(-1))
        c.on('close', resolve)
      })
      calls++
      if (code !== 0) failures++
    }
  })()
  // the event loop must stay free for the caller loop: installs run asynchronously
  for (let i = 0; i < 3; i++) t.equal(await installAsync(dir, SRIOV), 0, `reinstall ${i}`)
  running = false
  await loop
  t.ok(calls > 0, `${calls} calls during the reinstalls`)
  t.equal(failures, 0, 'no call saw a missing, partial or busy binary')
  t.same(fs.readdirSync(dir), ['sriov'], 'no temp files left')
})

t.test('a plugin that does not answer VERSION is not installed; the working one stays', async (t) => {
  const dir = tmpdir(t)
  t.equal(install(dir, SRIOV).status, 0)
  const bogus = path.join(tmpdir(t), 'sriov') // installed under its own name
  fs.writeFileSync(bogus, '#!/bin/sh\necho nope\n', { mode: 0o755 })
  const r = install(dir, bogus)
  t.not(r.status, 0)
  t.match(r.stderr, /does not answer CNI_COMMAND=VERSION/)
  t.equal(sha(path.join(dir, 'sriov')), sha(SRIOV), 'the working plugin is untouched')
  t.same(fs.readdirSync(dir), ['sriov'])
})

t.test('a copy that fails half-way (disk full) never replaces the plugin', async (t) => {
  const dir = tmpdir(t)
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=120m', 'tmpfs', dir])
  t.teardown(() => spawnSync('umount', [dir]))
  t.equal(install(dir, SRIOV).status, 0, 'the first copy fits')
  const big = path.join(tmpdir(t), 'sriov')
  fs.copyFileSync(SRIOV, big)
  fs.appendFileSync(big, Buffer.alloc(30 * 1024 * 1024)) // a second, larger copy cannot fit beside the first
  const r = install(dir, big)
  t.not(r.status, 0)
  t.equal(sha(path.join(dir, 'sriov')), sha(SRIOV), 'the installed plugin is the old, whole one')
  t.same(fs.readdirSync(dir), ['sriov'], 'the partial copy was removed')
})
