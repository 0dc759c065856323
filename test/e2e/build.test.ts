// The single executable runs with no Node and no node_modules around it, its native addons coming from
// its own assets.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/plugin-exec'

t.test('dist/bin/sriov copied alone into an empty directory: VERSION, and a host-local ADD that needs koffi', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.copyFileSync(path.join(ROOT, 'dist/bin/sriov'), path.join(dir, 'sriov'))
  fs.chmodSync(path.join(dir, 'sriov'), 0o755)
  fs.symlinkSync('sriov', path.join(dir, 'host-local'))
  const env = { PATH: '/nonexistent', SRIOV_ADDON_DIR: path.join(dir, 'addons') } // no node on PATH
  const v = spawnSync(path.join(dir, 'sriov'), { cwd: dir, env: { ...env, CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.1.0"}', encoding: 'utf8' })
  t.equal(v.status, 0, v.stderr)
  t.match(JSON.parse(v.stdout), { cniVersion: '1.1.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] })
  const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'sea', type: 'host-local', ipam: { type: 'host-local', dataDir: path.join(dir, 'data'), ranges: [[{ subnet: '10.99.0.0/24' }]] } })
  const add = spawnSync(path.join(dir, 'host-local'), { cwd: dir, env: { ...env, CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_PATH: dir }, input: conf, encoding: 'utf8' })
  t.equal(add.status, 0, add.stdout + add.stderr)
  t.match(JSON.parse(add.stdout), { ips: [{ address: '10.99.0.2/24' }] })
  // koffi (flock) came from the executable's own assets: extracted owner-only, byte for byte the package's addon
  const extracted = fs.readdirSync(path.join(dir, 'addons')).filter((f) => f.endsWith('-koffi.node'))
  t.equal(extracted.length, 1, 'koffi extracted once')
  const file = path.join(dir, 'addons', extracted[0])
  t.ok(fs.readFileSync(file).equals(fs.readFileSync(path.join(path.dirname(require.resolve('@koromix/koffi-linux-x64/package.json')), 'linux_x64', 'koffi.node'))), 'the extracted addon is the package\'s')
  t.equal(fs.statSync(file).mode & 0o022, 0, 'writable by nobody else')
  t.equal(fs.statSync(path.join(dir, 'addons')).mode & 0o077, 0, 'in a directory only its owner can enter')
  const noCmd = spawnSync(path.join(dir, 'sriov'), { cwd: dir, env, encoding: 'utf8' })
  t.equal(noCmd.status, 0)
  t.match(noCmd.stderr, /CNI protocol versions supported: 0\.1\.0, 0\.2\.0, 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/)
  t.equal(noCmd.stdout, '', 'nothing on stdout without a command')
})

t.test('an extracted addon damaged in place (same size) is written again, not loaded; a relative SRIOV_ADDON_DIR is not used', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sea-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.copyFileSync(path.join(ROOT, 'dist/bin/sriov'), path.join(dir, 'host-local'))
  fs.chmodSync(path.join(dir, 'host-local'), 0o755)
  const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'sea', type: 'host-local', ipam: { type: 'host-local', dataDir: path.join(dir, 'data'), ranges: [[{ subnet: '10.99.0.0/24' }]] } })
  const add = (id: string, env: Record<string, string>, cwd = dir) =>
    spawnSync(path.join(dir, 'host-local'), { cwd, env: { PATH: '/nonexistent', ...env, CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_PATH: dir }, input: conf, encoding: 'utf8' })
  const addons = path.join(dir, 'addons')
  t.equal(add('a', { SRIOV_ADDON_DIR: addons }).status, 0)
  const koffi = path.join(addons, fs.readdirSync(addons).find((f) => f.endsWith('-koffi.node'))!)
  const fd = fs.openSync(koffi, 'r+')
  fs.writeSync(fd, Buffer.alloc(4096, 0xcc), 0, 4096, Math.floor(fs.statSync(koffi).size / 2))
  fs.closeSync(fd)
  const again = add('b', { SRIOV_ADDON_DIR: addons })
  t.equal(again.status, 0, `no crash in dlopen: ${again.stdout}${again.stderr}`)
  const original = fs.readFileSync(path.join(path.dirname(require.resolve('@koromix/koffi-linux-x64/package.json')), 'linux_x64', 'koffi.node'))
  t.ok(fs.readFileSync(koffi).equals(original), 'the copy was written again')
  // the copy is compared a slice at a time: a change in its last, partial slice counts too
  const tail = fs.openSync(koffi, 'r+')
  fs.writeSync(tail, Buffer.from([original[original.length - 1] ^ 0xff]), 0, 1, original.length - 1)
  fs.closeSync(tail)
  t.equal(add('b2', { SRIOV_ADDON_DIR: addons }).status, 0)
  t.ok(fs.readFileSync(koffi).equals(original), 'a copy whose last byte differs was written again')

  // relative: its parents would be checked only up to the working directory, which someone else may own
  const cwd = path.join(dir, 'cwd')
  fs.mkdirSync(cwd)
  const rel = add('c', { SRIOV_ADDON_DIR: 'relative-addons' }, cwd)
  t.equal(rel.status, 0, rel.stdout + rel.stderr)
  t.notOk(fs.existsSync(path.join(cwd, 'relative-addons')), 'nothing created under the working directory')
})

t.test('the sriov executable\'s code carries no gRPC (start-up cost)', async (t) => {
  const bundle = fs.readFileSync(path.join(ROOT, 'dist/sea/sriov.cjs'), 'utf8')
  t.notMatch(bundle, /@grpc\/grpc-js|grpc\.Server/)
})

t.test('the code caches sit 8-byte aligned in dist/bin/sriov: V8 reads them in place instead of copying them each call', async (t) => {
  const packed = fs.readFileSync(path.join(ROOT, 'dist/sea/sriov.code-caches'))
  const exe = fs.readFileSync(path.join(ROOT, 'dist/bin/sriov'))
  const at = exe.indexOf(packed.subarray(0, 4096))
  t.ok(at > 0, 'the packed caches are in the executable')
  t.ok(exe.subarray(at, at + packed.length).equals(packed), 'whole')
  // the SEA blob's segment starts on a page: an offset in the file is the same offset in memory, modulo 8
  t.equal(at % 8, 0, `file offset ${at}`)
})

t.test('a config that reaches a non-blocking stdin in parts is read whole', async (t) => {
  // libuv hands a child blocking stdio: perl (Debian's perl-base) makes it non-blocking, then becomes the plugin
  const setNonblock = 'fcntl(STDIN, F_SETFL, fcntl(STDIN, F_GETFL, 0) | O_NONBLOCK) or die $!; exec @ARGV or die $!'
  const child = spawn('perl', ['-MFcntl', '-e', setNonblock, path.join(ROOT, 'dist/bin/sriov')], { env: { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' } })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stdin.write('{"cniVers')
  // the plugin reads the first part, then finds nothing more for now (EAGAIN)
  await new Promise((r) => setTimeout(r, 500))
  child.stdin.end('ion":"0.4.0"}')
  const code = await new Promise((r) => child.on('close', r))
  t.equal(code, 0, out)
  t.match(JSON.parse(out), { cniVersion: '0.4.0' }, 'the version asked for in both parts')
})
