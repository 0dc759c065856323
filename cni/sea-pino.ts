// What `require('pino')` returns inside the `sriov` single executable (scripts/build.mjs points the module name
// here): pino and its dependencies ride as an asset of their own, compiled when the first log line is written.
// They were two fifths of the plugin's bundle, whose whole source every call copies into V8 before it runs,
// and most calls log nothing.
import vm = require('node:vm')

const sea = require('node:sea') as { getRawAsset(key: string): ArrayBuffer }
const mod = { exports: {} as unknown }
// latin1: the build keeps the asset ASCII, as it does main.js
const source = Buffer.from(sea.getRawAsset('pino.js')).toString('latin1')
;(new vm.Script(source, { filename: 'pino.cjs' }).runInThisContext() as (r: NodeRequire, m: typeof mod, e: unknown) => void)(require, mod, mod.exports)
export = mod.exports
