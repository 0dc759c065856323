// CNI error codes (spec 1.1 "Error" section) and the error type every module throws.
export const ErrorCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnv: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  NotAvailable: 50,
  NotAvailableAffected: 51,
  Internal: 999,
} as const

export class CniError extends Error {
  readonly code: number
  readonly details?: string

  constructor(code: number, msg: string, details?: string) {
    super(msg)
    this.name = 'CniError'
    this.code = code
    if (details !== undefined) this.details = details
  }
}

export interface ErrorJson {
  cniVersion: string
  code: number
  msg: string
  details?: string
}

/** The error object printed on stdout; anything that is not a CniError is an internal failure (999). */
export function errorJson(err: unknown, cniVersion: string): ErrorJson {
  if (err instanceof CniError) {
    const out: ErrorJson = { cniVersion, code: err.code, msg: err.message }
    if (err.details) out.details = err.details
    return out
  }
  const msg = err instanceof Error ? err.message : String(err)
  return { cniVersion, code: ErrorCode.Internal, msg }
}
