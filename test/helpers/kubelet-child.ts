// A kubelet stand-in as its own process (bundled and forked by kubelet-process.ts), so that tests can kill it
// with SIGKILL as a node loses a kubelet: no cleanup, its sockets and our plugin sockets left in place.
import fs from 'node:fs'
import path from 'node:path'
import { KubeletStandIn, type Connection } from './kubelet'

type Request = { type: 'call'; id: number; resource: string; method: string; req: object }

const { KUBELET_DIR: dir, KUBELET_REGISTRY: registry, KUBELET_TRAVERSE: traverse, KUBELET_CLEAN: clean, KUBELET_ADMIT: admit } = process.env
const send = (m: object) => process.send!(m)

async function main(): Promise<void> {
  // kubelet's own start-up clean-up of the device-plugins directory, when the test asks for it
  if (clean === '1') for (const f of fs.readdirSync(dir!)) if (f.endsWith('.sock')) fs.rmSync(path.join(dir!, f), { force: true })
  const k = new KubeletStandIn(dir!, admit ? { admitOnFirstList: Number(admit) } : {})
  const ids = new Map<Connection, number>()
  k.on('registered', (resource: string) => send({ type: 'registered', resource }))
  k.on('connected', (conn: Connection) => {
    ids.set(conn, ids.size)
    send({ type: 'connected', resource: conn.resource, conn: ids.get(conn) })
  })
  k.on('list', (resource: string, devices: unknown, conn: Connection) => send({ type: 'list', resource, conn: ids.get(conn), devices }))
  k.on('admission', (a: object) => send({ type: 'admission', ...a }))
  process.on('message', (m: Request) => {
    k.call(m.resource, m.method, m.req).then(
      (result) => send({ type: 'reply', id: m.id, result }),
      (e: Error) => send({ type: 'reply', id: m.id, error: e.message }),
    )
  })
  await k.start()
  if (registry) k.watchRegistry(registry, traverse !== '0')
  send({ type: 'ready' })
}

main().catch((e) => {
  process.stderr.write(`kubelet-child: ${(e as Error).stack}\n`)
  process.exit(1)
})
