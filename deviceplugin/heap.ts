// The daemon's heap over months. V8 sizes its young generation up to 32 MiB and lets old-space garbage pile
// up to hundreds of MiB before its first full collection; a node daemon whose live heap is ~12 MiB keeps
// both small instead: the young generation at its start-up size, and a full collection whenever the heap
// has grown SLACK past what the previous one left.
import v8 from 'node:v8'
import vm from 'node:vm'

const SLACK_BYTES = 4 << 20
const CHECK_MS = 1000

/** Starts keeping the heap small; call after any worker thread has started (creating one resets V8's flags). */
export function keepHeapSmall(): () => void {
  v8.setFlagsFromString('--semi-space-growth-factor=1')
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  const used = () => v8.getHeapStatistics().used_heap_size
  let baseline = used()
  const timer = setInterval(() => {
    if (used() < baseline + SLACK_BYTES) return
    gc()
    baseline = used()
  }, CHECK_MS)
  timer.unref()
  return () => clearInterval(timer)
}
