// Entry of the `sriov` executable. Invoked under the name `host-local` it is the host-local IPAM plugin.
import path = require('node:path')
import { exitNow } from '../host/exit'
import { runHostLocal } from '../ipam/standalone'
import { runSriov } from './sriov'

function invokedAs(): string {
  // a SEA's argv[1] is its own path; a bundle run by node has the script in argv[1] and the link name in argv0
  const names = [process.argv[1], process.argv0].filter(Boolean).map((p) => path.basename(p))
  return names.includes('host-local') ? 'host-local' : 'sriov'
}

// exit as soon as the answer is written: a natural exit first tears the whole heap down (~1-2 ms a call);
// everything a call starts is awaited, and its output and logs are written synchronously
void (invokedAs() === 'host-local' ? runHostLocal() : runSriov()).then(() => exitNow(Number(process.exitCode ?? 0)))
