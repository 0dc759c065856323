import t from 'tap'
import { Metrics } from '../../deviceplugin/metrics'

t.test('metrics recorded before prom-client loads are replayed into the registry', async (t) => {
  const m = new Metrics()
  m.devices('intel.com/a', [{ ID: '0000:01:10.0', health: 'Healthy' }, { ID: '0000:01:10.1', health: 'Unhealthy' }])
  m.registered('intel.com/a')
  m.sent('intel.com/a')
  m.allocated('intel.com/a', 2)
  m.repaired('failed')
  const text = await m.registry.metrics()
  t.match(text, /sriovdp_devices\{resource="intel\.com\/a",health="Healthy"\} 1/)
  t.match(text, /sriovdp_devices\{resource="intel\.com\/a",health="Unhealthy"\} 1/)
  t.match(text, /sriovdp_registrations_total\{resource="intel\.com\/a"\} 1/)
  t.match(text, /sriovdp_listandwatch_sends_total\{resource="intel\.com\/a"\} 1/)
  t.match(text, /sriovdp_allocations_total\{resource="intel\.com\/a"\} 2/)
  t.match(text, /sriovdp_reconciler_repairs_total\{result="failed"\} 1/)
  m.allocated('intel.com/a', 1) // after loading: straight into the registry
  t.match(await m.registry.metrics(), /sriovdp_allocations_total\{resource="intel\.com\/a"\} 3/)
})

t.test('a program that never loads metrics does not queue without bound', async (t) => {
  const m = new Metrics()
  for (let i = 0; i < 5000; i++) m.sent('intel.com/a')
  // checked before anything asks for the registry: the queue loaded prom-client itself when it grew
  t.notOk(new Metrics().loaded, 'a new one waits')
  t.ok(m.loaded, 'the queue loaded prom-client and emptied itself into the registry')
  t.match(await m.registry.metrics(), /sriovdp_listandwatch_sends_total\{resource="intel\.com\/a"\} 5000/)
})

t.test('forget drops every series of a resource, queued or loaded; recording never throws', async (t) => {
  const m = new Metrics()
  for (const r of ['intel.com/a', 'intel.com/b']) {
    m.devices(r, [{ ID: '0000:01:10.0', health: 'Healthy' }])
    m.registered(r)
    m.sent(r)
    m.allocated(r, 1)
  }
  m.forget('intel.com/a') // before prom-client loads: replayed in order
  t.notMatch(await m.registry.metrics(), /intel\.com\/a/)
  m.forget('intel.com/b') // after
  t.notMatch(await m.registry.metrics(), /resource=/)
  t.doesNotThrow(() => m.devices('intel.com/c', [{ ID: 'x', health: 'Healthy' }]))
})
