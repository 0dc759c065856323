// libc entry points that Node does not expose (flock, setns, ioctl, netlink and packet sockets, malloc_trim, _exit), bound once through koffi.
import { getSystemErrorName } from 'node:util'
import { loadKoffi } from './native'

type Koffi = ReturnType<typeof loadKoffi>
type KoffiFunc = ReturnType<ReturnType<Koffi['load']>['func']>

export interface Libc {
  flock: KoffiFunc
  setns: KoffiFunc
  ioctl: KoffiFunc
  socket: KoffiFunc
  sendto: KoffiFunc
  recv: KoffiFunc
  setsockopt: KoffiFunc
  bind: KoffiFunc
  close: KoffiFunc
  malloc_trim: KoffiFunc
  _exit: KoffiFunc
  errno: () => number
}

let bound: Libc | undefined

/** Whether libc has been bound already (koffi loaded): a caller that can do without need not load it. */
export function libcBound(): boolean {
  return bound !== undefined
}

export function libc(): Libc {
  if (bound) return bound
  const koffi = loadKoffi()
  const lib = koffi.load('libc.so.6')
  bound = {
    flock: lib.func('int flock(int fd, int op)'),
    setns: lib.func('int setns(int fd, int nstype)'),
    ioctl: lib.func('int ioctl(int fd, unsigned long request)'),
    socket: lib.func('int socket(int domain, int type, int protocol)'),
    sendto: lib.func('long sendto(int fd, const void *buf, unsigned long len, int flags, const void *addr, uint32_t addrlen)'),
    recv: lib.func('long recv(int fd, void *buf, unsigned long len, int flags)'),
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)'),
    bind: lib.func('int bind(int fd, const void *addr, uint32_t addrlen)'),
    close: lib.func('int close(int fd)'),
    malloc_trim: lib.func('int malloc_trim(size_t pad)'),
    _exit: lib.func('void _exit(int status)'),
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
export const NS_GET_NSTYPE = 0xb703 // ioctl on a namespace fd: its CLONE_NEW* type

/** `EPERM`: an errno number as its name, which is what people search for; `errno N` for one without a name. */
export function errnoCode(errno: number): string {
  const name = getSystemErrorName(-errno)
  if (!name.startsWith('Unknown')) return name
  // libuv names fewer than the platform's table (ENOEXEC, EDQUOT, ESTALE, ...)
  const names = require('node:os').constants.errno as Record<string, number>
  return Object.keys(names).find((k) => names[k] === errno) ?? `errno ${errno}`
}

/** `EPERM (1)`. */
export function errnoName(errno: number): string {
  const name = errnoCode(errno)
  return name === `errno ${errno}` ? name : `${name} (${errno})`
}
