// What `require('koffi')` returns inside the single executable: koffi's addon, from the executable's own
// assets (scripts/build.mjs points the module name here). koffi's JS around it only finds the addon for the
// platform and wraps deprecated calls, and cost every CNI call ~2 ms.
import { loadSeaAddon } from './native'

export = loadSeaAddon('koffi.node')
