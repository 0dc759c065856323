// A list of named steps, each with its undo. Running stops at the first failure and undoes what was started,
// in reverse; undoing continues past failures and says which undo steps did not complete. Every undo must be
// safe to run when its step never ran or ran half-way: a crash recovery runs them all from the record.
import { faultPoint } from './fault'

export interface Step<C> {
  name: string
  /** A step without `run` is only undone by a full undo (of a record whose step may have run). */
  run?: (c: C) => Promise<void>
  undo?: (c: C) => Promise<void>
  /** Undo only when every later undo succeeded (the record: it stays for a retry to finish the job). */
  cleanOnly?: boolean
  /** What it does is on disk (the record, IPAM leases), not in the kernel: still undone after a reboot. */
  onDisk?: boolean
  /**
   * The step named here, right before this one, waits on the kernel for a while (a netdev's move): this one runs
   * meanwhile, and its undo alongside that one's. It must need nothing of that step, nor that step of it.
   */
  alongside?: string
}

/**
 * The steps in the order they start, each with the steps that run alongside it. A clean-only step (the record)
 * runs beside none: its undo must wait for every other undo's outcome.
 */
function groups<C>(steps: Step<C>[]): Step<C>[][] {
  const out: Step<C>[][] = []
  for (const step of steps) {
    const last = out[out.length - 1]
    if (step.alongside !== undefined && last?.[0].name === step.alongside && !step.cleanOnly && !last[0].cleanOnly) last.push(step)
    else out.push([step])
  }
  return out
}

// one turn of the event loop: a step that has started waits on something outside this thread by then, or is done
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Runs the steps in order; on a failure undoes every started step in reverse and rethrows, with `rollback` set to
 * the undo failures. `onStep` hears each point a fault can be injected at: a step's name as it starts, and
 * after-<name> once it is done.
 */
export async function runSteps<C>(steps: Step<C>[], c: C, onStep?: (point: string) => void): Promise<void> {
  const started: Step<C>[] = []
  let failedStep: string | undefined
  const at = (point: string) => {
    onStep?.(point)
    faultPoint(point)
  }
  try {
    for (const group of groups(steps)) {
      const running: Promise<void>[] = []
      let error: { reason: unknown } | undefined
      for (const step of group) {
        if (!step.run) continue
        if (running.length) await nextTurn()
        if (failedStep !== undefined) break // the step before failed already: this one is not started
        try {
          at(step.name)
        } catch (e) {
          // a fault injected as the step starts: it did not start
          failedStep = step.name
          error = { reason: e }
          break
        }
        started.push(step)
        const run = (async () => {
          await step.run!(c)
          at(`after-${step.name}`)
        })()
        run.catch(() => (failedStep ??= step.name))
        running.push(run)
      }
      // a step that fails waits for the ones beside it: their undo must not overlap what they still do
      const rejected = (await Promise.allSettled(running)).find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (error ?? rejected) throw (error ?? rejected!).reason
    }
  } catch (e) {
    const failures = await undoSteps(started, c)
    throw Object.assign(e as Error, { rollback: failures, step: failedStep })
  }
}

/** Runs every undo in reverse order, continuing past failures; returns "<step>: <error>" for each that failed. */
export async function undoSteps<C>(steps: Step<C>[], c: C): Promise<string[]> {
  const failures: string[] = []
  for (const group of groups(steps).reverse()) {
    const undoing: Promise<void>[] = []
    for (const step of group) {
      if (!step.undo || (step.cleanOnly && failures.length)) continue
      if (undoing.length) await nextTurn()
      undoing.push(step.undo(c).catch((e: Error) => void failures.push(`${step.name}: ${e.message}`)))
    }
    await Promise.all(undoing)
  }
  return failures
}
