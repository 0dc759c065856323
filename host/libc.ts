// libc entry points that Node does not expose (flock, setns, unshare), bound once through koffi.
import { loadKoffi } from './native'

type Koffi = ReturnType<typeof loadKoffi>
type KoffiFunc = ReturnType<ReturnType<Koffi['load']>['func']>

export interface Libc {
  flock: KoffiFunc
  setns: KoffiFunc
  unshare: KoffiFunc
  errno: () => number
}

let bound: Libc | undefined

export function libc(): Libc {
  if (bound) return bound
  const koffi = loadKoffi()
  const lib = koffi.load('libc.so.6')
  bound = {
    flock: lib.func('int flock(int fd, int op)'),
    setns: lib.func('int setns(int fd, int nstype)'),
    unshare: lib.func('int unshare(int flags)'),
    errno: () => koffi.errno(),
  }
  return bound
}

export const LOCK_EX = 2
export const LOCK_NB = 4
export const LOCK_UN = 8
export const EWOULDBLOCK = 11
export const EINTR = 4
export const CLONE_NEWNET = 0x40000000
