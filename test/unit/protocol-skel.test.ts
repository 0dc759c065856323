import t from 'tap'
import { pluginMain, type Io, type PluginFuncs } from '../../protocol/skel'
import { parseEnv } from '../../protocol/env'
import { CniError } from '../../protocol/errors'

function run(env: Record<string, string>, stdin: string, funcs: Partial<PluginFuncs> = {}) {
  const out: string[] = []
  const err: string[] = []
  const io: Io = { env, readStdin: async () => Buffer.from(stdin), write: (s) => out.push(s), writeErr: (s) => err.push(s) }
  const all: PluginFuncs = {
    add: async () => ({ cniVersion: '1.1.0', ips: [{ address: '10.1.0.2/24' }] }),
    del: async () => {},
    check: async () => {},
    status: async () => {},
    gc: async () => {},
    ...funcs,
  }
  return pluginMain(all, 'test plugin', io).then((code) => ({ code, out: out.join(''), err: err.join('') }))
}
const base = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'net1', CNI_PATH: '/opt/cni/bin' }
const conf = (v: string) => JSON.stringify({ cniVersion: v, name: 'n', type: 'sriov' })

t.test('VERSION answers with the supported versions', async (t) => {
  const r = await run({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}')
  t.equal(r.code, 0)
  t.same(JSON.parse(r.out), { cniVersion: '0.4.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] })
})

t.test('no CNI_COMMAND prints the about line and versions, not on stdout', async (t) => {
  const r = await run({}, '')
  t.equal(r.code, 0)
  t.equal(r.out, '')
  t.match(r.err, /test plugin\nCNI protocol versions supported: 0\.1\.0/)
})

t.test('unknown command is code 4, bad JSON 6, bad version 1', async (t) => {
  t.match(JSON.parse((await run({ ...base, CNI_COMMAND: 'FOO' }, conf('1.0.0'))).out), { code: 4, msg: /CNI_COMMAND/ })
  t.match(JSON.parse((await run({ ...base, CNI_COMMAND: 'ADD' }, '{')).out), { code: 6 })
  t.match(JSON.parse((await run({ ...base, CNI_COMMAND: 'ADD' }, conf('0.9.9'))).out), { code: 1, msg: /0\.9\.9/ })
})

t.test('CHECK below 0.4.0 and GC/STATUS below 1.1.0 are code 1', async (t) => {
  t.match(JSON.parse((await run({ ...base, CNI_COMMAND: 'CHECK' }, conf('0.3.1'))).out), { code: 1, msg: /CHECK/ })
  t.match(JSON.parse((await run({ CNI_PATH: '/x', CNI_COMMAND: 'GC' }, conf('1.0.0'))).out), { code: 1, msg: /GC/ })
  t.match(JSON.parse((await run({ CNI_PATH: '/x', CNI_COMMAND: 'STATUS' }, conf('1.0.0'))).out), { code: 1 })
  t.equal((await run({ CNI_PATH: '/x', CNI_COMMAND: 'STATUS' }, conf('1.1.0'))).code, 0)
})

t.test('ADD prints the result in the config version; errors keep their code', async (t) => {
  const r = await run({ ...base, CNI_COMMAND: 'ADD' }, conf('0.3.1'))
  t.same(JSON.parse(r.out), { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.1.0.2/24' }], dns: {} })
  const e = await run({ ...base, CNI_COMMAND: 'DEL' }, conf('1.0.0'), { del: async () => { throw new CniError(7, 'bad vlan') } })
  t.equal(e.code, 1)
  t.same(JSON.parse(e.out), { cniVersion: '1.0.0', code: 7, msg: 'bad vlan' })
})

t.test('env validation names the variable', async (t) => {
  t.throws(() => parseEnv({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0' }), { code: 4, message: /CNI_NETNS/ })
  t.throws(() => parseEnv({ ...base, CNI_COMMAND: 'ADD', CNI_CONTAINERID: '../x' }), { code: 4, message: /container ID/ })
  t.throws(() => parseEnv({ ...base, CNI_COMMAND: 'ADD', CNI_IFNAME: 'a/b' }), { code: 4 })
  t.throws(() => parseEnv({ ...base, CNI_COMMAND: 'ADD', CNI_IFNAME: 'x'.repeat(16) }), { code: 4, message: /15/ })
  t.throws(() => parseEnv({ ...base, CNI_COMMAND: 'ADD', CNI_ARGS: 'IP' }), { code: 4, message: /CNI_ARGS/ })
  t.same(parseEnv({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: '', CNI_ARGS: 'IgnoreUnknown=1;IP=10.0.0.5' }).args, { IgnoreUnknown: '1', IP: '10.0.0.5' })
})

t.test('an answer stdout will not take (EPIPE, a full disk) ends the call with exit code 1 and says so on stderr (red team)', async (t) => {
  const err: string[] = []
  const epipe = () => { throw Object.assign(new Error('EPIPE: broken pipe, write'), { code: 'EPIPE' }) }
  const io: Io = { env: { ...base, CNI_COMMAND: 'ADD' }, readStdin: async () => Buffer.from(conf('1.1.0')), write: epipe, writeErr: (s) => err.push(s) }
  const funcs: PluginFuncs = { add: async () => ({ cniVersion: '1.1.0' }), del: async () => {}, check: async () => {}, status: async () => {}, gc: async () => {} }
  t.equal(await pluginMain(funcs, 'test plugin', io), 1, 'not a rejection: the runtime sees a failed ADD and sends DEL')
  t.match(err.join(''), /cannot write the answer to stdout: EPIPE/)
})
