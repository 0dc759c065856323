import t from 'tap'
import { MAX_SOCKET_PATH, socketDirProblem, socketPath } from '../../deviceplugin/plugin-socket'

const DIR = '/var/lib/kubelet/device-plugins/'

t.test('a socket path that fits keeps the resource name; one that does not gets a stable hashed name', async (t) => {
  t.equal(socketPath(DIR, 'sriov_intel.com_net_a', 'intel.com/net_a'), '/var/lib/kubelet/device-plugins/sriov_intel.com_net_a.sock')
  const name = 'n'.repeat(63)
  const file = `sriov_intel.com_${name}`
  const p = socketPath(DIR, file, `intel.com/${name}`)
  t.equal(Buffer.byteLength(p), MAX_SOCKET_PATH, 'as much of the name as fits')
  t.match(p, /^\/var\/lib\/kubelet\/device-plugins\/sriov_intel\.com_n+-[0-9a-f]{16}\.sock$/)
  t.equal(socketPath(DIR, file, `intel.com/${name}`), p, 'the same name on every start')
  const other = socketPath(DIR, `sriov_intel.com_${'n'.repeat(62)}m`, `intel.com/${'n'.repeat(62)}m`)
  t.not(other, p, 'names that differ only beyond the cut differ in their hash')
  t.equal(socketPath(DIR, 'n'.repeat(54 + 16), 'x').length <= MAX_SOCKET_PATH, true)
})

t.test('a directory too long for any socket is named as the problem', async (t) => {
  t.equal(socketDirProblem(DIR), undefined)
  t.match(socketDirProblem(`/${'d'.repeat(90)}/`), /is too long for unix sockets: a socket path there has at least 119 bytes, the kernel takes 107/)
})
