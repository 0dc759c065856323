// The daemon's memory over months. V8 sizes its young generation up to 32 MiB and lets old-space garbage pile
// up to hundreds of MiB before its first full collection; a node daemon whose live heap is ~12 MiB keeps
// both small instead: the young generation at its start-up size, and a full collection whenever the heap
// has grown SLACK past what the previous one left. Memory outside the V8 heap (HTTP/2 sessions of gRPC
// connections, their buffers) is freed into glibc's heap, which keeps the pages: after a burst of connections
// is gone, a collection followed by malloc_trim gives them back to the kernel.
import v8 from 'node:v8'
import vm from 'node:vm'
import { libc } from '../host/libc'

const SLACK_BYTES = 4 << 20
const CHECK_MS = 1000
// RSS that grew this much since the last trim is looked at again, at most once per RSS_CHECK_MS
const RSS_SLACK_BYTES = 4 << 20
const RSS_CHECK_MS = 30000

let released = false

/** Says that connections or streams went away: their memory is collected and given back within a second. */
export function memoryReleased(): void {
  released = true
}

/** Starts keeping the heap small; call after any worker thread has started (creating one resets V8's flags). */
export function keepHeapSmall(): () => void {
  v8.setFlagsFromString('--semi-space-growth-factor=1')
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  const used = () => v8.getHeapStatistics().used_heap_size
  let trim = () => {
    try {
      libc().malloc_trim(0)
    } catch {
      trim = () => {} // not glibc, or no koffi: V8's own collection is all there is
    }
  }
  let baseline = used()
  released = true // start-up's garbage (the discovery worker, code run once) goes at the first check
  let trimmedRss = process.memoryUsage.rss()
  let rssCheckedAt = Date.now()
  const collect = () => {
    gc()
    trim()
    baseline = used()
    trimmedRss = process.memoryUsage.rss()
    released = false
  }
  const check = () => {
    if (released || used() >= baseline + SLACK_BYTES) return collect()
    if (Date.now() - rssCheckedAt < RSS_CHECK_MS) return
    rssCheckedAt = Date.now()
    if (process.memoryUsage.rss() > trimmedRss + RSS_SLACK_BYTES) collect() // what no release was said for
  }
  const timer = setInterval(() => {
    try {
      check()
    } catch {
      // reading RSS opens /proc/self/stat: out of descriptors it throws, and housekeeping waits for the next turn
    }
  }, CHECK_MS)
  timer.unref()
  return () => clearInterval(timer)
}
