// What node-netlink's `require('node-gyp-build')(dir)` returns inside the single executable: its addon, from
// the executable's own assets (scripts/build.mjs points the module name here).
import { loadSeaAddon } from './native'

const binding = (): unknown => loadSeaAddon('netlink.node')
export = binding
