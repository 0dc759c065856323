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
