import t, { type Test } from 'tap'
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

/** A step that waits, once started, until the test lets it go on (a netdev's move in the kernel). */
function gated(log: string[], name: string, o: { fail?: boolean; alongside?: string; cleanOnly?: boolean } = {}) {
  let go!: () => void
  const gate = new Promise<void>((r) => (go = r))
  const step: Step<unknown> = {
    name,
    alongside: o.alongside,
    cleanOnly: o.cleanOnly,
    run: async () => {
      log.push(`start ${name}`)
      await gate
      log.push(`end ${name}`)
      if (o.fail) throw new Error(`${name} broke`)
    },
    undo: async () => {
      log.push(`undo ${name}`)
      await gate
      log.push(`undone ${name}`)
    },
  }
  return { step, go }
}

const turn = () => new Promise<void>((r) => setImmediate(r))

t.test('a step alongside another starts while that one waits, and the next starts when both are done', async (t) => {
  const { log, step } = recorder()
  const move = gated(log, 'move')
  const running = runSteps([step('record'), move.step, { ...step('ipam'), alongside: 'move' }, step('addresses')], {})
  await turn()
  await turn()
  t.same(log, ['run record', 'start move', 'run ipam'], 'ipam ran while the move waited')
  move.go()
  await running
  t.same(log, ['run record', 'start move', 'run ipam', 'end move', 'run addresses'])
})

/** Runs the gated `record`, then `ipam`, which must not start before the record has finished. */
async function startsAfterRecord(t: Test, log: string[], record: ReturnType<typeof gated>, ipam: Step<unknown>, why: string) {
  const running = runSteps([record.step, ipam], {})
  await turn()
  await turn()
  t.same(log, ['start record'], why)
  record.go()
  await running
  t.same(log, ['start record', 'end record', 'run ipam'])
}

t.test('a step alongside one that is not right before it runs on its own, after the one before', async (t) => {
  const { log, step } = recorder()
  await startsAfterRecord(t, log, gated(log, 'record'), { ...step('ipam'), alongside: 'move' }, 'not started beside the record (the move is not there: a DPDK VF, or an undo of on-disk steps)')
})

t.test('a step alongside that fails: the one it runs beside finishes before both are undone', async (t) => {
  const { log, step } = recorder()
  const move = gated(log, 'move')
  const running = runSteps([step('record'), move.step, { ...step('ipam', { fail: true }), alongside: 'move' }, step('addresses')], {}).catch((e) => e)
  await turn()
  await turn()
  t.same(log, ['run record', 'start move', 'run ipam'], 'nothing undone while the move is under way')
  move.go()
  const err = await running
  t.match(err, { message: 'ipam broke', step: 'ipam', rollback: [] })
  t.same(log.slice(3), ['end move', 'undo move', 'undone move', 'undo ipam', 'undo record'], 'both undone, the record last')
})

t.test('a step that fails before the one alongside it started: that one never starts', async (t) => {
  const { log, step } = recorder()
  const err = await runSteps([step('record'), step('move', { fail: true }), { ...step('ipam'), alongside: 'move' }], {}).catch((e) => e)
  t.match(err, { message: 'move broke', step: 'move' })
  t.same(log, ['run record', 'run move', 'undo move', 'undo record'])
})

t.test('undo runs a step alongside the undo of the one it runs beside, and keeps the record when either fails', async (t) => {
  const log: string[] = []
  const move = gated(log, 'move')
  const ipam: Step<unknown> = { name: 'ipam', alongside: 'move', undo: async () => void log.push('undo ipam') }
  const later: Step<unknown> = { name: 'addresses', undo: async () => void log.push('undo addresses') }
  const record: Step<unknown> = { name: 'record', cleanOnly: true, undo: async () => void log.push('undo record') }
  const undoing = undoSteps([record, move.step, ipam, later], {})
  await turn()
  await turn()
  t.same(log, ['undo addresses', 'undo move', 'undo ipam'], "the lease goes back while the netdev's move does")
  move.go()
  t.same(await undoing, [])
  t.same(log.slice(3), ['undone move', 'undo record'])

  const failing: Step<unknown> = { name: 'ipam', alongside: 'move', undo: async () => Promise.reject(new Error('store locked')) }
  log.length = 0
  const quick: Step<unknown> = { name: 'move', undo: async () => void log.push('undo move') }
  t.same(await undoSteps([record, quick, failing], {}), ['ipam: store locked'])
  t.same(log, ['undo move'], 'the record stays for a retry')
})

t.test('a clean-only step (the record) never runs beside another, nor another beside it', async (t) => {
  const log: string[] = []
  const ipam: Step<unknown> = { name: 'ipam', alongside: 'record', run: async () => void log.push('run ipam') }
  await startsAfterRecord(t, log, gated(log, 'record', { cleanOnly: true }), ipam, 'ipam waits for the record')
  log.length = 0
  const clean: Step<unknown> = { name: 'record', cleanOnly: true, undo: async () => void log.push('undo record') }
  const failing: Step<unknown> = { name: 'ipam', alongside: 'record', undo: async () => Promise.reject(new Error('store locked')) }
  t.same(await undoSteps([clean, failing], {}), ['ipam: store locked'])
  t.same(log, [], 'the record stays when the undo it would have run beside failed')
})
