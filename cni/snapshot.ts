// The `sriov` single executable starts from a V8 snapshot built from this module: every module an ADD needs
// is already evaluated (netlink's JS included; its native addon and koffi load when first used, at run time),
// so a CNI call does not pay for loading them. Nothing here may read the environment: that is the build's.
import v8 from 'node:v8'
import { loadNetlink } from '../host/native'
import { main } from './entry'

loadNetlink()
v8.startupSnapshot.setDeserializeMainFunction(main)
