import t from 'tap'
import { parseUevent } from '../../host/uevents'

t.test('kernel uevents parse; udev re-broadcasts are ignored', async (t) => {
  const msg = Buffer.from('unbind@/devices/pci0000:00/0000:00:01.0/0000:01:10.2\0ACTION=unbind\0DEVPATH=/devices/pci0000:00/0000:00:01.0/0000:01:10.2\0SUBSYSTEM=pci\0DRIVER=vfio-pci\0SEQNUM=1234\0')
  t.same(parseUevent(msg), { action: 'unbind', devpath: '/devices/pci0000:00/0000:00:01.0/0000:01:10.2', subsystem: 'pci' })
  t.equal(parseUevent(Buffer.from('libudev\0\xfe\xed\xca\xfe')), undefined)
})
