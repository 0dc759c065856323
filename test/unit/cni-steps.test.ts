import t from 'tap'
import { runSteps, undoSteps, type Step } from '../../cni/steps'

function recorder() {
  const log: string[] = []
  const step = (name: string, o: { fail?: boolean; undoFails?: boolean; noUndo?: boolean; cleanOnly?: boolean } = {}): Step<unknown> => ({
    name,
    run: async () => {
      log.push(`run ${name}`)
      if (o.fail) throw new Error(`${name} broke`)
    },
    undo: o.noUndo ? undefined : async () => {
      log.push(`undo ${name}`)
      if (o.undoFails) throw new Error(`${name} would not undo`)
    },
    cleanOnly: o.cleanOnly,
  })
  return { log, step }
}

t.test('a failing step undoes itself and every earlier step, in reverse, and rethrows', async (t) => {
  const { log, step } = recorder()
  const steps = [step('a'), step('b', { noUndo: true }), step('c', { fail: true }), step('d')]
  const err = await runSteps(steps, {}).catch((e) => e)
  t.match(err, { message: 'c broke', rollback: [] })
  t.same(log, ['run a', 'run b', 'run c', 'undo c', 'undo a'])
})

t.test('undo continues past failures, reports them, and skips clean-only undos after one', async (t) => {
  const { log, step } = recorder()
  const steps = [step('record', { cleanOnly: true }), step('b', { undoFails: true }), step('c')]
  t.same(await undoSteps(steps, {}), ['b: b would not undo'])
  t.same(log, ['undo c', 'undo b'], 'the record stays when an undo failed')
  const err = await runSteps([...steps, step('d', { fail: true })], {}).catch((e) => e)
  t.same(err.rollback, ['b: b would not undo'], 'a failed ADD says which undo did not complete')
})

t.test('steps without run are skipped, and their undo is not run on rollback', async (t) => {
  const { log, step } = recorder()
  const skipped: Step<unknown> = { name: 'n/a', undo: async () => void log.push('undo n/a') }
  await runSteps([step('a'), skipped, step('b', { fail: true })], {}).catch(() => {})
  t.same(log, ['run a', 'run b', 'undo b', 'undo a'])
})
