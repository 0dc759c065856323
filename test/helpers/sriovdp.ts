// Runs the sriovdp executable against a fake sysfs and private kubelet directories.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { buildFakeSysfs, x540, type FakePf } from './fake-sysfs'
import type { KubeletView } from './kubelet'
import { ROOT } from './plugin-exec'

export const SRIOVDP_BIN = process.env.SRIOVDP_BIN ?? path.join(ROOT, 'dist', 'bin', 'sriovdp')

export interface DpRun {
  dir: string
  sysfs: string
  dpDir: string
  registryDir: string
  devinfoDir: string
  configFile: string
  child?: ChildProcess
  stderr: string
  /**
   * `netns`: a named network namespace to run in (its own uevents and link events, nobody else's);
   * `logFile`: stderr goes to this file instead of `stderr`.
   */
  start(args?: string[], opts?: { netns?: string; logFile?: string }): ChildProcess
  exited(): Promise<number | null>
  /** Replaces the config file in one rename, as kubelet updates a mounted ConfigMap. */
  writeConfig(config: object | string): void
  /** The daemon's JSON log lines so far. */
  logs(): { msg: string; [k: string]: unknown }[]
}

/** `devinfoDir`: where device-info files go (default: inside the run's temporary directory). */
export function dpRun(t: { teardown(fn: () => void): void }, config: object | string, opts: { devinfoDir?: string } = {}): DpRun {
  if (!fs.existsSync(SRIOVDP_BIN)) throw new Error(`${SRIOVDP_BIN} is missing: run npm run build first`)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dp-'))
  const run: DpRun = {
    dir,
    sysfs: path.join(dir, 'sys'),
    dpDir: path.join(dir, 'device-plugins'),
    registryDir: path.join(dir, 'plugins_registry'),
    devinfoDir: opts.devinfoDir ?? path.join(dir, 'devinfo'),
    configFile: path.join(dir, 'etc', 'config.json'),
    stderr: '',
    start(args = [], { netns, logFile } = {}) {
      // nsenter execs the daemon in place: the child's pid is the daemon's
      const logFd = logFile ? fs.openSync(logFile, 'a') : undefined
      const [cmd, pre] = netns ? ['nsenter', [`--net=/var/run/netns/${netns}`, SRIOVDP_BIN]] : [SRIOVDP_BIN, []]
      const child = spawn(cmd, [...pre, '--config-file', run.configFile, '--device-plugin-path', `${run.dpDir}/`, '--plugins-registry-path', `${run.registryDir}/`, '--http-addr', '', '--rescan-interval', '30', ...args], {
        env: { ...process.env, SRIOV_SYSFS_ROOT: run.sysfs, SRIOV_DEVINFO_DIR: run.devinfoDir, SRIOV_STATE_DIR: path.join(dir, 'state'), SRIOV_ADDON_DIR: path.join(os.tmpdir(), 'sriov-ts-addons') },
        stdio: ['ignore', 'ignore', logFd ?? 'pipe'],
      })
      if (logFd !== undefined) fs.closeSync(logFd) // the child has its own copy
      child.stderr?.on('data', (d) => (run.stderr += d))
      run.child = child
      return child
    },
    writeConfig(config) {
      const tmp = `${run.configFile}.tmp`
      fs.writeFileSync(tmp, typeof config === 'string' ? config : JSON.stringify(config))
      fs.renameSync(tmp, run.configFile)
    },
    logs() {
      return run.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
    },
    exited() {
      const c = run.child!
      if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve(c.exitCode)
      return new Promise((r) => c.on('exit', (code) => r(code)))
    },
  }
  fs.mkdirSync(path.dirname(run.configFile), { recursive: true })
  fs.mkdirSync(run.dpDir, { recursive: true })
  fs.writeFileSync(run.configFile, typeof config === 'string' ? config : JSON.stringify(config))
  t.teardown(() => {
    run.child?.kill('SIGKILL')
    fs.rmSync(dir, { recursive: true, force: true })
  })
  return run
}

/** A TCP port free on 127.0.0.1 right now, for --http-addr. */
export async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as net.AddressInfo
  await new Promise((r) => s.close(r))
  return port
}

/** The seeds' X540 config (test/fixtures/seed-configs/sriovdp-config-x540.json) and the resource it defines. */
export const X540_SEED = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/seed-configs/sriovdp-config-x540.json'), 'utf8')) as object
export const X540_RESOURCE = 'intel.com/intel_sriov_netdevice'

type Kubelet = KubeletView & { start(): Promise<void>; stop(): Promise<void> }

/** sriovdp with the X540 seed config on the X540 layout (`pf`), serving `kubelet` all its VFs. */
export async function servingX540<K extends Kubelet>(t: { teardown(fn: () => unknown): void }, kubelet: (dp: DpRun) => K, args: string[] = [], pf: FakePf = x540()): Promise<{ dp: DpRun; k: K }> {
  const dp = dpRun(t, X540_SEED)
  buildFakeSysfs(dp.sysfs, [pf])
  const k = kubelet(dp)
  await k.start()
  t.teardown(() => k.stop())
  dp.start(args)
  await k.waitForList(X540_RESOURCE, (l) => l.length === pf.vfs.length, 20000)
  return { dp, k }
}
