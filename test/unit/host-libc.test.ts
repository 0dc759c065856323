// Errno numbers as names, for the errors of libc calls (setns, flock) and of rtnetlink requests alike.
import t from 'tap'
import { errnoCode, errnoName } from '../../host/libc'

t.test('names from libuv, else the platform table, else the number', async (t) => {
  t.equal(errnoCode(19), 'ENODEV')
  t.equal(errnoCode(11), 'EAGAIN', 'not its alias EWOULDBLOCK: callers match EAGAIN')
  t.equal(errnoName(1), 'EPERM (1)')
  t.equal(errnoName(121), 'EREMOTEIO (121)', 'known to libuv only')
  t.equal(errnoName(122), 'EDQUOT (122)', 'known to the platform table only')
  t.equal(errnoName(9999), 'errno 9999')
})
