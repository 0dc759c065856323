// Entry of the `sriov` executable. Invoked under the name `host-local` it is the host-local IPAM plugin.
import path from 'node:path'
import { runHostLocal } from '../ipam/standalone'
import { runSriov } from './sriov'

function invokedAs(): string {
  // a SEA's argv[1] is its own path; a bundle run by node has the script in argv[1] and the link name in argv0
  const names = [process.argv[1], process.argv0].filter(Boolean).map((p) => path.basename(p))
  return names.includes('host-local') ? 'host-local' : 'sriov'
}

void (invokedAs() === 'host-local' ? runHostLocal() : runSriov())
