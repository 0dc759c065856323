// The libcni driver (test/e2e/cnitool, built from Debian's libcni by scripts/build-cnitool.sh).
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from './plugin-exec'

let built: string | undefined

/** CNITOOL names a prebuilt one (the VM guest has no Go toolchain); else it is built (and cached) here. */
export function cnitoolPath(): string {
  built ??= process.env.CNITOOL || execFileSync(path.join(ROOT, 'scripts/build-cnitool.sh'), { encoding: 'utf8' }).trim()
  return built
}

export interface Cnitool {
  run(cmd: 'add' | 'check' | 'del', network: string, netns: string, env?: Record<string, string>): { code: number | null; stdout: string; stderr: string; json?: any }
  writeConflist(name: string, conflist: object): void
  confDir: string
}

/** A cnitool with its own conflist directory and result cache; CNI_PATH = our plugin dir + the reference plugins. */
export function cnitool(t: { teardown(fn: () => void): void }, pluginDir: string, baseEnv: Record<string, string>): Cnitool {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnitool-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const confDir = path.join(dir, 'net.d')
  fs.mkdirSync(confDir)
  const bin = cnitoolPath()
  return {
    confDir,
    writeConflist(name, conflist) {
      fs.writeFileSync(path.join(confDir, `${name}.conflist`), JSON.stringify({ name, ...conflist }))
    },
    run(cmd, network, netns, env = {}) {
      const r = spawnSync(bin, [cmd, network, netns], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, ...baseEnv, NETCONFPATH: confDir, CNI_PATH: `${pluginDir}:/usr/lib/cni`, CNI_CACHE_DIR: path.join(dir, 'cache'), CNI_IFNAME: 'net1', ...env },
      })
      let json: any
      try {
        json = r.stdout.trim() ? JSON.parse(r.stdout) : undefined
      } catch {
        json = undefined
      }
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, json }
    },
  }
}
