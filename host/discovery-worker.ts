// Entry of the discovery worker thread (bundled by the build into the PCI_DISCOVERY_WORKER string): one full
// PCI pass, posted back to the thread that started it. A pass that throws ends the worker with an 'error'
// event, and the starting thread redoes the pass itself.
import { parentPort, workerData } from 'node:worker_threads'
import { listPciDevices, type DiscoveryOptions } from './pci'
import { Sysfs } from './sysfs'

const { root, opts } = workerData as { root: string; opts: DiscoveryOptions }
parentPort!.postMessage({ devices: listPciDevices(new Sysfs(root), opts) })
