// What ADD makes durable, and when, seen as the kernel sees it (strace): the allocation mark and the record are
// flushed and renamed into place, and their directory flushed, before the VF netdev moves; the completion update
// flushes its content (a record is never empty or partial) without waiting for its rename, whose earlier
// version ('adding') every verb rolls back after a power loss.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { addNetns, linkJson } from '../helpers/netns'
import { SRIOV_BIN, sriovNode } from '../helpers/sriov-node'

t.test('the write-ahead is durable before the move; the completion flushes its content only', async (t) => {
  const node = sriovNode(t, 'tdu')
  const pod = addNetns(t, 'tdu')
  const trace = path.join(node.dir, 'strace.out')
  const env = { PATH: process.env.PATH!, ...node.env, CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'ctr1', CNI_NETNS: pod.path, CNI_IFNAME: 'net1', CNI_PATH: '/usr/lib/cni' }
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'signal=none', '-e', 'trace=openat,fsync,fdatasync,rename,sendto', '-o', trace, SRIOV_BIN], { input: JSON.stringify(node.conf()), env })
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`)
  t.ok(linkJson('net1', pod.name), 'the VF is in the pod')
  // each line: "<pid> <call>(...) = <ret>"; fds are per process (one process here), named by their openat
  const fdPath = new Map<string, string>()
  const events: string[] = []
  for (const line of fs.readFileSync(trace, 'utf8').split('\n')) {
    const open = /openat\(AT_FDCWD, "([^"]+)", [^)]*\) = (\d+)/.exec(line)
    if (open) fdPath.set(open[2], open[1])
    const sync = /f(?:data)?sync\((\d+)\) += 0/.exec(line)
    if (sync) events.push(`sync ${fdPath.get(sync[1])}`)
    const rename = /rename\("([^"]+)", "([^"]+)"\) = 0/.exec(line)
    if (rename) events.push(`rename ${rename[2]}`)
    if (/sendto\(.*IFLA_NET_NS_FD/.test(line)) events.push('move')
  }
  const mark = path.join(node.stateDir, 'pci', node.vfs[0].pci)
  const record = path.join(node.stateDir, 'ctr1-net1')
  const at = (e: string, from = 0) => events.indexOf(e, from)
  const move = at('move')
  t.ok(move > 0, `the move is seen (${events.join('; ')})`)
  const before = events.slice(0, move)
  const tmpSynced = (f: string) => before.some((e) => e.startsWith(`sync ${path.dirname(f)}/.tmp-${path.basename(f)}.`))
  t.ok(tmpSynced(mark) && tmpSynced(record), 'mark and record contents flushed before the move')
  t.ok(at(`rename ${mark}`) < at(`rename ${record}`) && at(`rename ${record}`) < move, 'the mark is in place before the record, both before the move')
  t.ok(before.slice(at(`rename ${record}`)).includes(`sync ${node.stateDir}`), 'and the renames flushed (the state directory) before the move')
  const completion = at(`rename ${record}`, move)
  t.ok(completion > move, 'the record is updated once the steps are done')
  t.ok(events.slice(move, completion).some((e) => e.startsWith(`sync ${node.stateDir}/.tmp-ctr1-net1.`)), 'its content flushed before its rename')
  t.notOk(events.slice(completion).some((e) => e === `sync ${node.stateDir}`), 'its rename not waited for')
  t.equal((await node.run('DEL', node.conf(), { netns: pod.path })).code, 0)
})
