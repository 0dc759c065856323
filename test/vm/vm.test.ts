// The VM tier: real kernel SR-IOV (QEMU's emulated igb) for the CNI plugin and the device plugin.
import { execFileSync, spawnSync } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/plugin-exec'

t.setTimeout(1500_000)

function scenario(name: string): { rc: number | null; out: string } {
  const r = spawnSync(path.join(ROOT, 'scripts/vm/run.sh'), [`test/vm/scenarios/${name}`, '900'], { cwd: ROOT, encoding: 'utf8' })
  return { rc: r.status, out: `${r.stdout}${r.stderr}` }
}

t.before(() => {
  execFileSync(path.join(ROOT, 'scripts/build-cnitool.sh'), { stdio: 'ignore' })
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), 'vm-guests'], { cwd: ROOT, stdio: 'ignore' })
})

// a list is one node booted once per scenario, on a disk that outlives each boot (cni-reboot: a power cut between)
for (const names of [['cni.sh'], ['dp.sh'], ['dp-noiommu.sh'], ['cni-reboot-1.sh', 'cni-reboot-2.sh']]) {
  t.test(`VM scenario ${names.join(', then ')}`, async (t) => {
    for (const name of names) {
      const { rc, out } = scenario(name)
      for (const line of out.split('\n')) {
        if (/^(ok|not ok) - /.test(line)) t.ok(line.startsWith('ok'), line.replace(/^(not )?ok - /, ''))
        else if (/^# |^vm: /.test(line)) t.comment(line.replace(/^# /, ''))
      }
      t.equal(rc, 0, `${name}: guest exit code (console log: .cache/vm/console.log)\n${out.split('\n').filter((l) => l.startsWith('not ok') || l.startsWith('#   ')).join('\n')}`)
      t.match(out, /^ok - /m, `${name}: the guest ran its checks`)
      if (rc !== 0) break
    }
  })
}

// the harness itself: a guest that has not started its scenario when the boot wait ends is stopped and booted once more
t.test('a guest that never starts its scenario is stopped after VM_BOOT_WAIT_S and booted again once', async (t) => {
  const r = spawnSync(path.join(ROOT, 'scripts/vm/run.sh'), ['test/vm/scenarios/cni.sh', '120'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, VM_BOOT_WAIT_S: '1' } })
  const out = `${r.stdout}${r.stderr}`
  t.equal(r.status, 99, 'no scenario ran: the harness says so with 99')
  t.equal(out.match(/vm: the guest never started the scenario \(no scenario started within 1 s/g)?.length, 1, 'one retry, saying why')
  t.notMatch(out, /^ok - /m, 'no check ran')
})
