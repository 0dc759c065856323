// The few places where tests and simulated nodes differ from a real node (the README's seam table), read from
// the environment in this one module into one typed object. Modules with a seam take it from here, or from a
// Seams object they are given (the device plugin's reconciler passes its own to the DEL it runs).
export interface Seams {
  /** SRIOV_SYSFS_ROOT: roots every sysfs read */
  sysfsRoot: string
  /** SRIOV_VF_CONFIG=record:<dir>: VF configuration recorded in <dir>/<pf>.json instead of set on the PF */
  vfConfig: { kind: 'netlink' } | { kind: 'record'; dir: string }
  /** SRIOV_STATE_DIR: attachment records, allocation marks, VF and attachment locks */
  stateDir: string
  /** SRIOV_DEVINFO_DIR: the device plugin's device-info files */
  devinfoDir: string
  /** SRIOV_ADDON_DIR: tried first for the native addons */
  addonDir?: string
  /** SRIOV_TEST_FAULTS=1 with SRIOV_FAULT=<point>[:kill]: ADD fails (or is killed) there */
  fault?: { point: string; kill: boolean }
}

export const DEFAULT_SYSFS_ROOT = '/sys'
export const DEFAULT_STATE_DIR = '/var/lib/cni/sriov'
export const DEFAULT_DEVINFO_DIR = '/var/run/k8s.cni.cncf.io/devinfo/dp'

export function seamsFrom(env: NodeJS.ProcessEnv): Seams {
  const out: Seams = {
    sysfsRoot: env.SRIOV_SYSFS_ROOT || DEFAULT_SYSFS_ROOT,
    vfConfig: { kind: 'netlink' },
    stateDir: env.SRIOV_STATE_DIR || DEFAULT_STATE_DIR,
    devinfoDir: env.SRIOV_DEVINFO_DIR || DEFAULT_DEVINFO_DIR,
  }
  const vf = env.SRIOV_VF_CONFIG
  if (vf?.startsWith('record:')) out.vfConfig = { kind: 'record', dir: vf.slice('record:'.length) }
  else if (vf && vf !== 'netlink') throw new Error(`invalid SRIOV_VF_CONFIG ${JSON.stringify(vf)}: expected netlink or record:<dir>`)
  if (env.SRIOV_ADDON_DIR) out.addonDir = env.SRIOV_ADDON_DIR
  if (env.SRIOV_TEST_FAULTS === '1' && env.SRIOV_FAULT) {
    const kill = env.SRIOV_FAULT.endsWith(':kill')
    out.fault = { point: kill ? env.SRIOV_FAULT.slice(0, -':kill'.length) : env.SRIOV_FAULT, kill }
  }
  return out
}

/** The environment that gives a child process (a DEL the reconciler runs) the same seams. */
export function seamsEnv(s: Seams): Record<string, string> {
  const out: Record<string, string> = { SRIOV_SYSFS_ROOT: s.sysfsRoot, SRIOV_STATE_DIR: s.stateDir, SRIOV_DEVINFO_DIR: s.devinfoDir }
  out.SRIOV_VF_CONFIG = s.vfConfig.kind === 'record' ? `record:${s.vfConfig.dir}` : 'netlink'
  if (s.addonDir) out.SRIOV_ADDON_DIR = s.addonDir
  return out
}

let current: Seams | undefined

/** This process's seams, read from its environment once. */
export function seams(): Seams {
  return (current ??= seamsFrom(process.env))
}
