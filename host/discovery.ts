// The first PCI discovery of a daemon, on a worker thread: its ~3,000 sysfs reads for 1,024 VFs then run
// while the main thread loads gRPC, the protos and netlink, instead of after them.
import { Worker } from 'node:worker_threads'
import { listPciDevices, type DiscoveryOptions, type PciDevice } from './pci'
import { Sysfs, sysfs } from './sysfs'

// The build stamps the bundled host/discovery-worker.ts here; from TypeScript sources it is undefined.
declare const PCI_DISCOVERY_WORKER: string | undefined

const builtWorker = typeof PCI_DISCOVERY_WORKER === 'string' ? PCI_DISCOVERY_WORKER : undefined

/** Starts a discovery pass; it runs on a worker thread when the program was built with one, else right here. */
export function discoverInBackground(opts: DiscoveryOptions, root: Sysfs = sysfs, source: string | undefined = builtWorker): Promise<PciDevice[]> {
  const here = () => listPciDevices(root, opts)
  if (!source) return Promise.resolve().then(here)
  return new Promise<PciDevice[]>((resolve) => {
    let worker: Worker
    try {
      worker = new Worker(source, { eval: true, workerData: { root: root.root, opts } })
    } catch {
      resolve(here()) // no threads here (resource limits): discovery is only slower, never wrong
      return
    }
    let settled = false
    // a worker that fails or dies only makes discovery slower: the pass is then done on this thread
    const settle = (devices?: PciDevice[]) => {
      if (settled) return
      settled = true
      void worker.terminate()
      resolve(devices ?? here())
    }
    worker.once('message', (m: { devices?: PciDevice[] }) => settle(m.devices))
    worker.once('error', () => settle())
    worker.once('exit', () => settle())
  })
}
