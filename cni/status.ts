// STATUS (spec 1.1): error 50 when an ADD could not succeed now.
import fs = require('node:fs')
import { StateStore } from '../state/store'
import { CniError, ErrorCode } from '../protocol/errors'
import type { PluginContext } from '../protocol/skel'
import { ipamStatus } from './ipam'
import { makeDirs } from '../host/make-dirs'

export async function cmdStatus({ env, conf }: PluginContext): Promise<void> {
  const store = new StateStore()
  try {
    makeDirs(store.root, 0o700)
    fs.accessSync(store.root, fs.constants.W_OK)
  } catch (e) {
    throw new CniError(ErrorCode.NotAvailable, `state directory ${store.root} is not writable: ${(e as Error).message}`)
  }
  try {
    await ipamStatus({ ...conf.raw }, env)
  } catch (e) {
    throw new CniError(ErrorCode.NotAvailable, `IPAM is not available: ${(e as Error).message}`)
  }
}
