// The main script of the `sriov` single executable: compiles the plugin's bundle (asset main.js) with the V8
// code cache the build recorded while the plugin ran its verbs (asset main.caches), so that a call does not
// compile the functions it runs: Node's own SEA code cache holds only a script's top level. A cache V8 rejects
// (another V8, other flags) costs only the compile.

// Where each cache sits in main.caches, [offset, length] by verb ('*': every other verb's). The build writes
// this line and starts the asset 8-byte aligned in the executable: V8 copies a cache that is not aligned
// before reading it (~45 page faults, ~0.5 ms a call), and reads an aligned one in place.
const CACHES = {}
const sea = require('node:sea')
const vm = require('node:vm')
const fs = require('node:fs')

function asset(key) {
  try {
    return Buffer.from(sea.getRawAsset(key))
  } catch {
    return undefined
  }
}

// Only the build's training executable carries the asset `training`: it starts from the cache in
// SRIOV_CODE_CACHE_IN (if any) and writes the cache, extended by what this call compiled, to SRIOV_CODE_CACHE_OUT.
// (asked only when the build's variable is set: a missing asset costs every call an exception)
const training = process.env.SRIOV_CODE_CACHE_OUT !== undefined && asset('training') !== undefined
const input = training ? process.env.SRIOV_CODE_CACHE_IN : undefined
// ADD and DEL have a cache of their own (scripts/train-code-cache.mjs): V8 reads all of a cache up front
const verb = Object.hasOwn(CACHES, process.env.CNI_COMMAND ?? '') ? process.env.CNI_COMMAND : '*'
const at = CACHES[verb]
const packed = !training && at ? asset('main.caches') : undefined
const cachedData = training ? (input && fs.existsSync(input) ? fs.readFileSync(input) : undefined) : packed?.subarray(at[0], at[0] + at[1])
// latin1: the build keeps main.js ASCII, and a latin1 decode is a plain copy where utf8 is checked byte by byte
const script = new vm.Script(asset('main.js').toString('latin1'), { filename: 'sriov.cjs', cachedData })
// ADD's debug log reports it (cni/add.ts): a cache V8 refused would go unnoticed otherwise
globalThis[Symbol.for('sriov-ts.codeCache')] = !cachedData ? 'none' : script.cachedDataRejected ? 'rejected' : verb !== '*' ? `used (${verb}'s)` : 'used'
if (training) {
  if (script.cachedDataRejected) fs.writeSync(2, 'sea-loader: code cache rejected\n')
  process.on('exit', () => fs.writeFileSync(process.env.SRIOV_CODE_CACHE_OUT, script.createCachedData()))
}
script.runInThisContext()(require, module, module.exports, __filename, __dirname)
