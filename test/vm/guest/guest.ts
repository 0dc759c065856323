// What the guest programs of the VM tier share: TAP-style checks, teardowns run at the end, the igb PF,
// binding a VF to vfio-pci, and sriovdp serving the kubelet stand-in from the guest's real sysfs.
import fs from 'node:fs'
import path from 'node:path'
import { KubeletStandIn } from '../../helpers/kubelet'
import { dpRun, type DpRun } from '../../helpers/sriovdp'

let fails = 0
const cleanups: (() => void)[] = []

/** Prints one TAP-style check; a failure makes the program exit non-zero. */
export function ok(name: string, cond: boolean, detail = ''): void {
  console.log(`${cond ? 'ok' : 'not ok'} - ${name}${!cond && detail ? `\n#   ${detail}` : ''}`)
  if (!cond) fails++
}

/** The tap-like teardown registry the test helpers (dpRun) take. */
export const t = { teardown: (fn: () => void) => cleanups.unshift(fn) }

/** Runs `main`, then the teardowns, and exits with the checks' verdict. */
export function runGuest(main: () => Promise<void>): void {
  main()
    .catch((e) => ok(`guest program: ${(e as Error).message}`, false))
    .finally(() => {
      for (const c of cleanups) {
        try {
          c()
        } catch {
          /* best effort */
        }
      }
      console.log(`# ${fails} failed`)
      process.exit(fails ? 1 : 0)
    })
}

/** The netdev of the emulated igb PF. */
export function igbPf(): string {
  return fs.readdirSync('/sys/bus/pci/drivers/igb').map((d) => path.join('/sys/bus/pci/drivers/igb', d, 'net')).filter((p) => fs.existsSync(p)).map((p) => fs.readdirSync(p)[0])[0]
}

/** sriovdp with `config` on the guest's real sysfs, started, and the kubelet stand-in it registers with. */
export async function serveRealNode(config: object): Promise<{ dp: DpRun; k: KubeletStandIn }> {
  const dp = dpRun(t, config)
  fs.rmSync(dp.sysfs, { recursive: true, force: true })
  fs.symlinkSync('/sys', dp.sysfs)
  const k = new KubeletStandIn(dp.dpDir)
  await k.start()
  t.teardown(() => void k.stop())
  dp.start()
  return { dp, k }
}

/** Rebinds PCI function `pci` to vfio-pci (driver_override, unbind, probe). */
export function bindVfio(pci: string): void {
  fs.writeFileSync(`/sys/bus/pci/devices/${pci}/driver_override`, 'vfio-pci')
  fs.writeFileSync(`/sys/bus/pci/devices/${pci}/driver/unbind`, pci)
  fs.writeFileSync('/sys/bus/pci/drivers_probe', pci)
}
