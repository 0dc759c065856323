// deploy/cni-entrypoint.sh (sriov-cni's image arguments) against temporary directories: the plugin is replaced atomically while a
// runtime-like loop keeps executing it, a copy whose checksum differs or that does not answer VERSION never
// replaces the installed plugin, the real dist/bin/sriov passes the VERSION check, and the idle container
// stops on SIGTERM.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'

const ROOT = path.resolve(__dirname, '..', '..')
const ENTRY = path.join(ROOT, 'deploy', 'cni-entrypoint.sh')
const SRIOV = path.join(ROOT, 'dist', 'bin', 'sriov')

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function tmpdir(t: Test, name = 'deploy-install-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), name))
  t.teardown(() => fs.rmSync(d, { recursive: true, force: true }))
  return d
}

/**
 * A stand-in plugin of about `padMiB` MiB: a shell script whose only working line is the last one, so a
 * partially written copy runs, prints nothing and is caught by the caller loop. SLOW makes it sleep first
 * (a call in progress while the file is replaced).
 */
function fakePlugin(dir: string, tag: string, padMiB = 4): string {
  // installed under its own name, as sriov-cni's entrypoint does: each version is a `sriov` in its own directory
  fs.mkdirSync(dir, { recursive: true })
  const file = path.join(dir, 'sriov')
  const pad = `# ${'x'.repeat(1021)}\n`.repeat(padMiB * 1024)
  const body = [
    '#!/bin/sh',
    pad.trimEnd(),
    '[ "$CNI_COMMAND" = SLOW ] && { sleep 1; echo "{\\"supportedVersions\\":[\\"1.0.0\\"],\\"tag\\":\\"' + tag + '\\"}"; exit 0; }',
    '[ "$CNI_COMMAND" = VERSION ] || exit 3',
    'echo "{\\"cniVersion\\":\\"1.0.0\\",\\"supportedVersions\\":[\\"0.3.1\\",\\"1.0.0\\"],\\"tag\\":\\"' + tag + '\\"}"',
    '',
  ].join('\n')
  fs.writeFileSync(file, body, { mode: 0o755 })
  return file
}

/** The entrypoint as sriov-network-operator's init container runs it (--no-sleep), `source` as the plugin. */
function install(dir: string, source: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('sh', [ENTRY, `--cni-bin-dir=${dir}`, `--sriov-bin-file=${source}`, '--no-sleep'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60000,
  })
}

/** A runtime calling `plugin` with CNI_COMMAND=VERSION in a loop (a separate process) until stop() */
function callerLoop(t: Test, plugin: string) {
  const work = tmpdir(t, 'caller-')
  const script = `
    ok=0; bad=0; tags=
    while [ ! -e "$W/stop" ]; do
      out=$(CNI_COMMAND=VERSION "$P" </dev/null 2>&1); rc=$?
      case "$rc:$out" in
        0:*supportedVersions*) ok=$((ok+1)); tag=\${out##*tag\\":\\"}; tag=\${tag%%\\"*}
          case " $tags " in *" $tag "*) ;; *) tags="$tags $tag" ;; esac ;;
        *) bad=$((bad+1)); echo "rc=$rc out=$out" >> "$W/failures" ;;
      esac
    done
    echo "$ok $bad$tags" > "$W/result"`
  const child = spawn('sh', ['-c', script], { env: { ...process.env, W: work, P: plugin }, stdio: 'ignore' })
  const done = new Promise<void>((resolve) => child.on('close', () => resolve()))
  t.teardown(() => void child.kill('SIGKILL'))
  return {
    async stop(): Promise<{ ok: number; bad: number; tags: string[]; failures: string }> {
      fs.writeFileSync(path.join(work, 'stop'), '')
      await done
      const [ok, bad, ...tags] = fs.readFileSync(path.join(work, 'result'), 'utf8').trim().split(/\s+/)
      const failures = fs.existsSync(path.join(work, 'failures')) ? fs.readFileSync(path.join(work, 'failures'), 'utf8') : ''
      return { ok: Number(ok), bad: Number(bad), tags, failures }
    },
  }
}

t.test('replaces the plugin atomically while a runtime keeps executing it', async (t) => {
  const src = tmpdir(t)
  const dir = tmpdir(t)
  const v1 = fakePlugin(path.join(src, 'v1'), 'v1')
  const v2 = fakePlugin(path.join(src, 'v2'), 'v2')
  const first = install(dir, v1)
  t.equal(first.status, 0, first.stderr)
  t.match(first.stdout, /installed .*\/sriov \(sha256 [0-9a-f]{64}\)/)
  t.match(first.stdout, /VERSION: .*supportedVersions/)
  const target = path.join(dir, 'sriov')
  t.equal(sha(target), sha(v1))
  t.ok(fs.statSync(target).mode & 0o111, 'executable')

  // a call of the old plugin in progress when it is replaced finishes as the old plugin
  const slow = spawnSync('sh', ['-c', `CNI_COMMAND=SLOW "${target}" & sleep 0.3; sh "${ENTRY}" --cni-bin-dir="${dir}" --sriov-bin-file="${v2}" --no-sleep >/dev/null || echo INSTALL FAILED; wait`], { encoding: 'utf8' })
  t.match(slow.stdout, /"tag":"v1"/, 'the call that started before the replace ran the old plugin to the end')
  t.notMatch(slow.stdout, /INSTALL FAILED/)
  t.equal(sha(target), sha(v2), 'and the new plugin is installed')

  const loop = callerLoop(t, target)
  await sleep(200)
  for (let i = 0; i < 8; i++) {
    const r = install(dir, i % 2 ? v2 : v1)
    t.equal(r.status, 0, `reinstall ${i}: ${r.stderr}`)
  }
  await sleep(200)
  const res = await loop.stop()
  t.ok(res.ok > 10, `${res.ok} calls during the reinstalls`)
  t.equal(res.bad, 0, `no call saw a missing, partial or busy plugin ${res.failures}`)
  t.same(res.tags.sort(), ['v1', 'v2'], 'the loop ran both plugins')
  t.equal(sha(target), sha(v2))
  t.same(fs.readdirSync(dir), ['sriov'], 'no temporary files left')
})

t.test('the caller loop does notice a non-atomic install (the check above can fail)', async (t) => {
  const src = tmpdir(t)
  const dir = tmpdir(t)
  const v1 = fakePlugin(path.join(src, 'v1'), 'v1')
  const target = path.join(dir, 'sriov')
  fs.copyFileSync(v1, target)
  const loop = callerLoop(t, target)
  await sleep(100)
  // what `cp` over the target does: truncate and write in place; a pause half-way makes it observable. While
  // the loop is executing the file, the kernel may refuse the open with ETXTBSY (the other way an in-place
  // install fails): retry until the open lands between two calls.
  const content = fs.readFileSync(v1)
  let fd = -1
  let busy = 0
  for (let i = 0; fd < 0 && i < 2000; i++) {
    try {
      fd = fs.openSync(target, 'w')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ETXTBSY') throw e
      busy++
      await sleep(1)
    }
  }
  t.ok(fd >= 0, `opened for writing in place (${busy} ETXTBSY refusals first)`)
  fs.writeSync(fd, content, 0, content.length >> 1)
  await sleep(300)
  fs.writeSync(fd, content, content.length >> 1)
  fs.closeSync(fd)
  await sleep(100)
  const res = await loop.stop()
  t.ok(res.bad > 0, `${res.bad} calls failed on the partial file`)
})

/** Two stand-in plugins in a source directory, the first installed in a target directory. */
function v1InstalledV2Ready(t: Test): { src: string; dir: string; v1: string; v2: string } {
  const src = tmpdir(t)
  const dir = tmpdir(t)
  const v1 = fakePlugin(path.join(src, 'v1'), 'v1', 1)
  const v2 = fakePlugin(path.join(src, 'v2'), 'v2', 1)
  t.equal(install(dir, v1).status, 0)
  return { src, dir, v1, v2 }
}

t.test('a copy whose checksum differs from the source is not installed', async (t) => {
  const { src, dir, v1, v2 } = v1InstalledV2Ready(t)
  // the hook corrupts the temporary copy between the copy and its checks (a bad disk, a truncated write)
  const hook = path.join(src, 'corrupt')
  fs.writeFileSync(hook, '#!/bin/sh\nprintf X >> "$1"\n', { mode: 0o755 })
  const r = install(dir, v2, { INSTALL_CNI_AFTER_COPY: hook })
  t.equal(r.status, 1, 'install-cni fails')
  t.match(r.stderr, /checksum mismatch for the copy in .*: [0-9a-f]{64}, expected [0-9a-f]{64}; .*sriov left unchanged/)
  t.equal(sha(path.join(dir, 'sriov')), sha(v1), 'the installed plugin is untouched')
  t.same(fs.readdirSync(dir), ['sriov'], 'the corrupt copy was removed')
  // a hook that leaves the copy alone: the same install succeeds
  const noop = path.join(src, 'noop')
  fs.writeFileSync(noop, '#!/bin/sh\n:\n', { mode: 0o755 })
  t.equal(install(dir, v2, { INSTALL_CNI_AFTER_COPY: noop }).status, 0)
  t.equal(sha(path.join(dir, 'sriov')), sha(v2))
})

// fincore (util-linux) counts a file's pages in the page cache; tmpfs keeps its pages whatever is asked
const fincore = spawnSync('fincore', ['--version']).status === 0
const onTmpfs = spawnSync('stat', ['-f', '-c', '%T', os.tmpdir()], { encoding: 'utf8' }).stdout.trim() === 'tmpfs'
t.test('the copy is on disk and the pages it wrote are dropped before its checks read it back', { skip: !fincore ? 'no fincore' : onTmpfs ? `${os.tmpdir()} is a tmpfs` : false }, async (t) => {
  const src = tmpdir(t)
  const dir = tmpdir(t)
  const v1 = fakePlugin(path.join(src, 'v1'), 'v1', 4)
  // the hook runs between the copy and its checks: it records how much of the copy is in the page cache then
  const seen = path.join(src, 'resident')
  const hook = path.join(src, 'resident.sh')
  fs.writeFileSync(hook, `#!/bin/sh\nfincore --bytes --noheadings --output RES "$1" > ${seen}\n`, { mode: 0o755 })
  const r = install(dir, v1, { INSTALL_CNI_AFTER_COPY: hook })
  t.equal(r.status, 0, r.stderr)
  t.equal(fs.readFileSync(seen, 'utf8').trim(), '0', 'no page of the 4 MiB copy left in the page cache after the copy')
  t.equal(sha(path.join(dir, 'sriov')), sha(v1))
  // the check can fail: a plain copy keeps the pages it wrote
  const plain = path.join(src, 'plain')
  fs.copyFileSync(v1, plain)
  t.not(spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', plain], { encoding: 'utf8' }).stdout.trim(), '0')
})

t.test('a plugin that does not answer VERSION is not installed; a missing source fails', async (t) => {
  const src = tmpdir(t)
  const dir = tmpdir(t)
  const v1 = fakePlugin(path.join(src, 'v1'), 'v1', 1)
  t.equal(install(dir, v1).status, 0)
  fs.mkdirSync(path.join(src, 'bogus'))
  const bogus = path.join(src, 'bogus', 'sriov')
  fs.writeFileSync(bogus, '#!/bin/sh\necho nope\nexit 1\n', { mode: 0o755 })
  const r = install(dir, bogus)
  t.equal(r.status, 1)
  t.match(r.stderr, /does not answer CNI_COMMAND=VERSION: nope/)
  t.equal(sha(path.join(dir, 'sriov')), sha(v1), 'the working plugin is untouched')
  t.same(fs.readdirSync(dir), ['sriov'])

  const missing = install(dir, path.join(src, 'absent', 'sriov'))
  t.equal(missing.status, 1)
  t.match(missing.stderr, /source plugin .*absent\/sriov does not exist/)
  t.same(fs.readdirSync(dir), ['sriov'])
})

t.test('creates the directory; one installer at a time: a temp file is a killed one\'s and goes, a live one\'s is left', async (t) => {
  const src = tmpdir(t)
  const base = tmpdir(t)
  const v1 = fakePlugin(path.join(src, 'v1'), 'v1', 1)
  const dir = path.join(base, 'opt', 'cni', 'bin')
  t.equal(install(dir, v1).status, 0, 'installs into a directory that did not exist')
  // left by installers killed a moment ago and long ago: on a nearly full disk either would fail every retry
  fs.writeFileSync(path.join(dir, '.sriov.tmp.AAAAAA'), 'partial')
  fs.writeFileSync(path.join(dir, '.sriov.tmp.BBBBBB'), 'partial, recent')
  const old = new Date(Date.now() - 20 * 60 * 1000)
  fs.utimesSync(path.join(dir, '.sriov.tmp.AAAAAA'), old, old)
  t.equal(install(dir, v1).status, 0)
  t.same(fs.readdirSync(dir).sort(), ['sriov'])

  // an installer at work holds the directory's lock: the next one waits and leaves its temp file alone
  const report = path.join(src, 'report')
  const holder = spawn('flock', [dir, 'sh', '-c', `touch ${dir}/.sriov.tmp.LIVE; echo held > ${report}; sleep 1; [ -e ${dir}/.sriov.tmp.LIVE ] && echo kept >> ${report}; rm -f ${dir}/.sriov.tmp.LIVE`], { stdio: 'ignore' })
  const held = new Promise((r) => holder.on('close', r))
  while (!fs.existsSync(report)) await sleep(20)
  t.equal(install(dir, v1).status, 0, 'installs once the lock is free')
  await held
  t.same(fs.readFileSync(report, 'utf8').trim().split('\n'), ['held', 'kept'], 'the live installer\'s temp file was not removed')
  t.same(fs.readdirSync(dir).sort(), ['sriov'])
})

const setpriv = spawnSync('setpriv', ['--version']).status === 0
t.test('a directory the installer can write but not read (no lock): it installs without the lock', { skip: !setpriv && 'no setpriv' }, async (t) => {
  const src = tmpdir(t)
  const base = tmpdir(t)
  fs.chmodSync(src, 0o755)
  fs.chmodSync(base, 0o755)
  const v1 = fakePlugin(path.join(src, 'v1'), 'v1', 1)
  const dir = path.join(base, 'bin')
  fs.mkdirSync(dir, { mode: 0o333 })
  fs.chownSync(dir, 65534, 65534)
  fs.chmodSync(dir, 0o333)
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', ENTRY, `--cni-bin-dir=${dir}`, `--sriov-bin-file=${path.join(src, 'v1', 'sriov')}`, '--no-sleep'], { encoding: 'utf8', timeout: 60000 })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /installing without the directory lock/)
  t.equal(sha(path.join(dir, 'sriov')), sha(v1))
})

t.test('without a working sha256sum nothing is installed (two empty checksums must not match)', async (t) => {
  const { src, dir, v1, v2 } = v1InstalledV2Ready(t)
  const bin = path.join(src, 'bin')
  fs.mkdirSync(bin)
  fs.writeFileSync(path.join(bin, 'sha256sum'), '#!/bin/sh\nexit 127\n', { mode: 0o755 })
  const r = install(dir, v2, { PATH: `${bin}:${process.env.PATH}` })
  t.equal(r.status, 1)
  t.match(r.stderr, /cannot compute the sha256 of .*v2\/sriov/)
  t.equal(sha(path.join(dir, 'sriov')), sha(v1), 'the installed plugin is untouched')
  t.same(fs.readdirSync(dir), ['sriov'])
})

t.test('scripts/install.sh goes through the same checks: an empty or broken build is never installed', async (t) => {
  const tree = tmpdir(t)
  const dir = tmpdir(t)
  fs.mkdirSync(path.join(tree, 'scripts'))
  fs.mkdirSync(path.join(tree, 'deploy'))
  fs.mkdirSync(path.join(tree, 'dist', 'bin'), { recursive: true })
  fs.copyFileSync(path.join(ROOT, 'scripts', 'install.sh'), path.join(tree, 'scripts', 'install.sh'))
  fs.copyFileSync(ENTRY, path.join(tree, 'deploy', 'cni-entrypoint.sh'))
  const built = path.join(tree, 'dist', 'bin', 'sriov')
  const run = () => spawnSync('bash', [path.join(tree, 'scripts', 'install.sh'), dir, '--host-local'], { encoding: 'utf8', timeout: 60000 })
  fs.copyFileSync(fakePlugin(path.join(tree, 'v1'), 'v1', 1), built)
  fs.chmodSync(built, 0o755)
  const first = run()
  t.equal(first.status, 0, first.stderr)
  t.same(fs.readdirSync(dir).sort(), ['host-local', 'sriov'])
  const installed = sha(path.join(dir, 'sriov'))
  // a build being rewritten: an empty executable runs as an empty shell script and exits 0
  fs.writeFileSync(built, '', { mode: 0o755 })
  const r = run()
  t.equal(r.status, 1)
  t.match(r.stderr, /does not answer CNI_COMMAND=VERSION/)
  t.equal(sha(path.join(dir, 'sriov')), installed, 'the working plugin stays')
  t.same(fs.readdirSync(dir).sort(), ['host-local', 'sriov'], 'no temp file left')
})

const noBuild = fs.existsSync(SRIOV) ? false : 'dist/bin/sriov is absent: run `npm run build` to test the installer with the real plugin'
t.test('the real plugin: checksum and CNI_COMMAND=VERSION', { skip: noBuild }, async (t) => {
  const dir = tmpdir(t)
  const r = install(dir, SRIOV)
  t.equal(r.status, 0, r.stderr)
  t.equal(sha(path.join(dir, 'sriov')), sha(SRIOV), 'installed byte for byte')
  t.match(r.stdout, new RegExp(`installed ${dir}/sriov \\(sha256 ${sha(SRIOV)}\\)`))
  const version = JSON.parse(r.stdout.match(/VERSION: (.*)/)![1])
  t.ok(version.supportedVersions.includes('0.3.1') && version.supportedVersions.includes('1.0.0'), `supportedVersions ${version.supportedVersions}`)
  t.same(fs.readdirSync(dir), ['sriov'])
})

t.test('without --no-sleep the installer idles and exits 0 on SIGTERM', async (t) => {
  const src = tmpdir(t)
  const dir = tmpdir(t)
  const v1 = fakePlugin(path.join(src, 'v1'), 'v1', 1)
  const child = spawn('sh', [ENTRY, `--cni-bin-dir=${dir}`, `--sriov-bin-file=${v1}`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  t.teardown(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {}
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  for (let i = 0; i < 100 && !/VERSION:/.test(out); i++) await sleep(50)
  t.match(out, /installed /)
  await sleep(200)
  t.equal(child.exitCode, null, 'still running after the install')
  const t0 = Date.now()
  child.kill('SIGTERM')
  t.equal(await closed, 0, 'exit code 0')
  t.ok(Date.now() - t0 < 2000, `stopped in ${Date.now() - t0} ms`)
  // live (not zombie) processes of the installer's process group: the sleep must have been killed
  const live = () =>
    fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        const fields = fs.readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
        return fields[0] !== 'Z' && Number(fields[2]) === child.pid
      } catch {
        return false
      }
    })
  for (let i = 0; i < 20 && live().length; i++) await sleep(50)
  t.same(live(), [], 'no sleep left behind')
})

t.test('usage: sriov-cni image arguments only; -h prints them', async (t) => {
  const unknown = spawnSync('sh', [ENTRY, 'install-cni'], { encoding: 'utf8' })
  t.equal(unknown.status, 1, 'the old install-cni command is an unknown parameter, as in the Go image')
  t.match(unknown.stderr, /ERROR: unknown parameter "install-cni"/)
  const spaced = spawnSync('sh', [ENTRY, '--cni-bin-dir', '/a'], { encoding: 'utf8' })
  t.equal(spaced.status, 1, 'values go after "=", as in the Go image')
  t.match(spaced.stderr, /unknown parameter "--cni-bin-dir"/)
  const help = spawnSync('sh', [ENTRY, '--help'], { encoding: 'utf8' })
  t.equal(help.status, 0)
  t.match(help.stdout, /--cni-bin-dir=\/host\/opt\/cni\/bin[\s\S]*--sriov-bin-file=\/usr\/bin\/sriov[\s\S]*--no-sleep/)
})
