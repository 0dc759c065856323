// Ending a short-lived process the moment its work is done. process.exit first disposes of V8's platform and
// runs libc's exit handlers (OpenSSL's clean-up among them): ~2-4 ms of a CNI call that has nothing left to
// flush, since its output and logs are written synchronously and everything it starts is awaited.
import { libc, libcBound } from './libc'

/** Exits with `code` after the 'exit' listeners have run; through _exit(2) when libc is bound already. */
export function exitNow(code: number): never {
  if (!libcBound()) process.exit(code) // binding libc only to exit would cost more than it saves
  process.exitCode = code
  process.emit('exit', code)
  libc()._exit(code)
  return process.exit(code) // not reached
}
