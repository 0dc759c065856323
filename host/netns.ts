// Network namespaces by file descriptor. A netlink socket stays bound to the namespace it was created in,
// so we enter a namespace only long enough to create sockets or touch its /proc/sys, synchronously, and
// always come back: no await, no libuv thread work and no child process ever runs inside a pod namespace.
import fs = require('node:fs')
import { CLONE_NEWNET, errnoName, libc, NS_GET_NSTYPE } from './libc'

/** Why a path cannot be used as a network namespace; `missing` when nothing is there (a pod already gone). */
export class NetnsError extends Error {
  constructor(readonly path: string, readonly missing: boolean, why: string) {
    super(`${path} is not a network namespace: ${why}`)
  }
}

export class Netns {
  private closed = false

  /** `caller`: opened as the calling thread's own namespace (Netns.current), which `run` need not enter. */
  private constructor(readonly path: string, readonly fd: number, private readonly caller = false) {}

  /** Opens `path` and checks that it is a network namespace (not a file, a directory or another namespace type). */
  static open(path: string): Netns {
    return Netns.openAt(path, false)
  }

  private static openAt(path: string, caller: boolean): Netns {
    let fd: number
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw new NetnsError(path, code === 'ENOENT' || code === 'ENOTDIR', `cannot open it (${code ?? (e as Error).message})`)
    }
    const type = libc().ioctl(fd, NS_GET_NSTYPE) as number
    if (type !== CLONE_NEWNET) {
      fs.closeSync(fd)
      throw new NetnsError(path, false, type === -1 ? 'it is not a namespace file' : `it is a namespace of another type (0x${type.toString(16)})`)
    }
    return new Netns(path, fd, caller)
  }

  /** The namespace of the calling thread (the host namespace for a CNI plugin). */
  static current(): Netns {
    return Netns.openAt(`/proc/self/task/${process.pid}/ns/net`, true)
  }

  /** Runs `fn` synchronously inside this namespace and returns to the caller's namespace. */
  run<T>(fn: () => T): T {
    // a closed descriptor number may already name another namespace: never setns through it
    if (this.closed) throw new Error(`network namespace ${this.path} was already closed`)
    // every run comes back: the namespace the caller had is still its own
    if (this.caller) return synchronous(fn())
    const back = Netns.current()
    try {
      enter(this)
      try {
        return synchronous(fn())
      } finally {
        enter(back)
      }
    } finally {
      back.close()
    }
  }

  /** Whether this is the calling thread's own namespace (the host's, for a CNI plugin). */
  isCurrent(): boolean {
    const mine = fs.statSync(`/proc/self/task/${process.pid}/ns/net`)
    const it = fs.fstatSync(this.descriptor())
    return mine.ino === it.ino && mine.dev === it.dev
  }

  /** The open descriptor, for APIs that take a namespace fd (IFLA_NET_NS_FD). */
  descriptor(): number {
    if (this.closed) throw new Error(`network namespace ${this.path} was already closed`)
    return this.fd
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      fs.closeSync(this.fd)
    } catch {
      /* already closed */
    }
  }
}

function synchronous<T>(out: T): T {
  if (out instanceof Promise) throw new Error('Netns.run takes a synchronous function')
  return out
}

function enter(ns: Netns): void {
  if (libc().setns(ns.fd, CLONE_NEWNET) !== 0) throw new Error(`setns(${ns.path}) failed: ${errnoName(libc().errno())}`)
}

/** The network namespace at `path`, undefined when there is none there (a pod already gone) or no path at all. */
export function openNetnsIfThere(path: string | undefined): Netns | undefined {
  if (!path) return undefined
  try {
    return Netns.open(path)
  } catch {
    return undefined
  }
}

/** True when `path` names a live network namespace (a runtime's bind mount or a /proc/<pid>/ns/net). */
export function netnsExists(path: string | undefined): path is string {
  const ns = openNetnsIfThere(path)
  ns?.close()
  return ns !== undefined
}
