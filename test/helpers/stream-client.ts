// ListAndWatch clients in a child process, each stream on a channel (connection) of its own, as a misbehaving
// or restarting client opens them: the child exits when done, so every connection really closes.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { ROOT } from './plugin-exec'

export interface StreamResult {
  opened: number
  answered: number
  /** error statuses other than the client's own cancellation: "code details" → count */
  errors: Record<string, number>
}

const SCRIPT = `
const grpc = require('@grpc/grpc-js'), loader = require('@grpc/proto-loader')
const [sock, mode, n, conc] = process.argv.slice(1)
const { DevicePlugin } = grpc.loadPackageDefinition(loader.loadSync(${JSON.stringify(path.join(ROOT, 'proto/deviceplugin.proto'))}, { keepCase: true })).v1beta1
const out = { opened: 0, answered: 0, errors: {} }
const open = (onDone) => {
  const c = new DevicePlugin('unix://' + sock, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 })
  const call = c.ListAndWatch({})
  out.opened++
  let done = false
  const finish = () => { if (!done) { done = true; onDone(c, call) } }
  call.on('data', () => { out.answered++; finish() })
  call.on('error', (e) => { if (e.code !== 1) { const k = e.code + ' ' + e.details.slice(0, 80); out.errors[k] = (out.errors[k] || 0) + 1 } finish() })
  return { c, call }
}
const end = () => { process.stdout.write(JSON.stringify(out)); process.exit(0) }
if (mode === 'burst') {
  // all at once, held until each answered or failed, then all closed
  const all = []
  let settled = 0
  for (let i = 0; i < +n; i++) all.push(open(() => { if (++settled === +n) { for (const { c, call } of all) { call.cancel(); c.close() } setTimeout(end, 200) } }))
} else {
  // one after another on conc lanes: open, first answer, cancel, close, next
  let left = +n, lanes = +conc
  const next = () => {
    if (left-- <= 0) { if (--lanes === 0) end(); return }
    open((c, call) => { call.cancel(); c.close(); setImmediate(next) })
  }
  for (let i = 0; i < +conc; i++) next()
}
`

/** `burst`: `n` streams at once, held until all answered or failed, then closed; `sequence`: `n` one after another on `conc` lanes. */
export function streamClients(sock: string, mode: 'burst' | 'sequence', n: number, conc = 2): Promise<StreamResult> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', SCRIPT, sock, mode, String(n), String(conc)], { cwd: ROOT, maxBuffer: 1 << 20, timeout: 300000 }, (e, stdout) => (e ? reject(e) : resolve(JSON.parse(stdout) as StreamResult))),
  )
}
