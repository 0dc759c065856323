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
}

/** Runs the steps in order; on a failure undoes every started step in reverse and rethrows, with `rollback` set to the undo failures. */
export async function runSteps<C>(steps: Step<C>[], c: C, onStep?: (name: string) => void): Promise<void> {
  const started: Step<C>[] = []
  try {
    for (const step of steps) {
      if (!step.run) continue
      onStep?.(step.name)
      faultPoint(step.name)
      started.push(step)
      await step.run(c)
      faultPoint(`after-${step.name}`)
    }
  } catch (e) {
    const failures = await undoSteps(started, c)
    throw Object.assign(e as Error, { rollback: failures, step: started[started.length - 1]?.name })
  }
}

/** Runs every undo in reverse order, continuing past failures; returns "<step>: <error>" for each that failed. */
export async function undoSteps<C>(steps: Step<C>[], c: C): Promise<string[]> {
  const failures: string[] = []
  for (const step of [...steps].reverse()) {
    if (!step.undo || (step.cleanOnly && failures.length)) continue
    try {
      await step.undo(c)
    } catch (e) {
      failures.push(`${step.name}: ${(e as Error).message}`)
    }
  }
  return failures
}
