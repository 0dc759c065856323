// What koffi's `require('@koromix/koffi-linux-x64')` returns inside the single executable: its addon, from
// the executable's own assets (scripts/build.mjs points the module name here).
import { loadSeaAddon } from './native'

export = loadSeaAddon('koffi.node')
