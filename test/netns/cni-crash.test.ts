// kill -9 during ADD, as a runtime does when a plugin overruns its timeout, followed by what repairs it: a DEL,
// a GC, or the next pod's ADD on the same VF. Afterwards the VF, the namespaces, the IPAM store and the state
// directory must be exactly as before the killed ADD.
import fs from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import { addNetns, linkJson } from '../helpers/netns'
import type { ExecResult } from '../helpers/plugin-exec'
import { sriovNode, type SriovNode } from '../helpers/sriov-node'

const STEPS = ['record', 'move', 'mac', 'apply-vf', 'mac-verify', 'ipam', 'addresses', 'announce', 'complete']
const POINTS = [...STEPS.flatMap((s) => [s, `after-${s}`]), 'record-mark']
const REPAIRS = ['DEL', 'GC', 'ADD elsewhere', 'ADD again'] as const
// the seeds' NAD (vlan 201, host-local) with a MAC from the runtime and trust/spoofchk at their defaults
const nad = (node: SriovNode) => node.conf({ vlan: 201, runtimeConfig: { mac: '02:00:00:c0:ff:ee' } }, '1.1.0')

/** `finished`: whether the killed ADD may have finished (its record says so), the one case another pod is refused. */
async function repair(t: Test, node: SriovNode, how: (typeof REPAIRS)[number], killedNetns: string, finished: boolean): Promise<void> {
  const conf = nad(node)
  if (how === 'ADD again') {
    // the runtime's retry of the ADD it killed: same container, interface and namespace
    const again = await node.run('ADD', conf, { netns: killedNetns })
    t.equal(again.code, 0, `the retried ADD: ${again.stdout}`)
    t.equal((await node.run('DEL', conf, { netns: killedNetns })).code, 0)
  } else if (how === 'DEL') {
    const del = await node.run('DEL', conf, { netns: killedNetns })
    t.equal(del.code, 0, `DEL after the kill: ${del.stdout}`)
  } else if (how === 'GC') {
    const gc = await node.run('GC', { ...conf, 'cni.dev/valid-attachments': [] })
    t.equal(gc.code, 0, `GC after the kill: ${gc.stdout}`)
  } else {
    // the device plugin gives the VF to the next pod: its ADD must take over, not inherit the leftovers
    const next = addNetns(t, 'tkx')
    const before = node.snapshot().vfConfig
    const add = await node.run('ADD', node.conf({ vlan: 202 }, '1.1.0'), { netns: next.path, containerId: 'next' })
    if (add.code === 0) {
      t.ok(linkJson('net1', next.name), 'the next pod got the VF')
      t.match(node.vfConfig()['0'], { vlan: 202 })
      const del = await node.run('DEL', node.conf({ vlan: 202 }, '1.1.0'), { netns: next.path, containerId: 'next' })
      t.equal(del.code, 0, del.stdout)
    } else {
      // only a finished ADD in a live pod keeps the VF: its owner's DEL releases it
      t.ok(finished, `an unfinished ADD does not keep the VF from the next pod: ${add.stdout}`)
      t.match(add.json, { code: 7, msg: /already allocated/ }, `refused only because the VF is in use: ${add.stdout}`)
      t.same(node.snapshot().vfConfig, before, 'a refused ADD changes nothing')
      t.equal((await node.run('DEL', conf, { netns: killedNetns })).code, 0)
    }
  }
}

function assertAsBefore(t: Test, node: SriovNode, before: ReturnType<SriovNode['snapshot']>, pod: string): void {
  const after = node.snapshot()
  t.same(after.netdevs, before.netdevs, 'VF netdev on the host under its own name, with its MAC, MTU and admin state')
  t.same(after.vfConfig, before.vfConfig, 'VF config on the PF as before')
  t.equal(linkJson('net1', pod), undefined, 'nothing left in the pod')
  t.same(node.leftovers(), [], 'no record, mark, lock, temp, lease or index file')
}

async function killedAdd(node: SriovNode, pod: string, kill: { at?: string; afterMs?: number }): Promise<ExecResult> {
  const env: Record<string, string> = kill.at ? { SRIOV_TEST_FAULTS: '1', SRIOV_FAULT: `${kill.at}:kill` } : {}
  return node.run('ADD', nad(node), {
    netns: pod,
    env,
    onSpawn: kill.afterMs === undefined ? undefined : (child) => setTimeout(() => child.kill('SIGKILL'), kill.afterMs),
  })
}

for (const point of POINTS) {
  for (const how of REPAIRS) {
    t.test(`kill -9 at "${point}", then ${how}`, async (t) => {
      const node = sriovNode(t, 'tk')
      const pod = addNetns(t, 'tk')
      const before = node.snapshot()
      const add = await killedAdd(node, pod.path, { at: point })
      t.equal(add.signal, 'SIGKILL', `ADD was killed at ${point}`)
      await repair(t, node, how, pod.path, point === 'after-complete')
      assertAsBefore(t, node, before, pod.name)
    })
  }
}

t.test('kill -9 at random moments of ADD, each followed by DEL, GC or the next ADD on the VF', async (t) => {
  const node = sriovNode(t, 'tkr')
  const pod = addNetns(t, 'tkr')
  const before = node.snapshot()
  // how long an ADD takes here, so that the kills spread over all of it
  const t0 = performance.now()
  t.equal((await node.run('ADD', nad(node), { netns: pod.path })).code, 0)
  const span = performance.now() - t0
  t.equal((await node.run('DEL', nad(node), { netns: pod.path })).code, 0)
  const runs = Number(process.env.SRIOV_CRASH_RUNS ?? 50)
  let killed = 0
  for (let i = 0; i < runs; i++) {
    const afterMs = Math.random() * span * 1.1
    const add = await killedAdd(node, pod.path, { afterMs })
    if (add.signal === 'SIGKILL') killed++
    await repair(t, node, REPAIRS[i % REPAIRS.length], pod.path, true)
    assertAsBefore(t, node, before, pod.name)
  }
  t.ok(killed > runs / 2, `most runs were killed mid-ADD (${killed} of ${runs})`)
})

t.test("the next pod's ADD that takes the VF from a killed ADD also removes the killed one's attachment lock file", async (t) => {
  const node = sriovNode(t, 'tkl')
  const pod = addNetns(t, 'tkl')
  const add = await killedAdd(node, pod.path, { at: 'after-apply-vf' })
  t.equal(add.signal, 'SIGKILL')
  const lock = path.join(node.stateDir, 'lock', 'ctr1-net1.lock')
  t.ok(fs.existsSync(lock), 'the killed ADD left its lock file')
  const next = addNetns(t, 'tkl')
  const conf = node.conf({ vlan: 202 }, '1.1.0')
  const taken = await node.run('ADD', conf, { netns: next.path, containerId: 'next' })
  t.equal(taken.code, 0, taken.stdout)
  t.notOk(fs.existsSync(lock), 'gone with the attachment it locked')
  t.equal((await node.run('DEL', conf, { netns: next.path, containerId: 'next' })).code, 0)
})
