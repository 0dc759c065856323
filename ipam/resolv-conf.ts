// resolv.conf → the result's dns, as host-local's `resolvConf` option does.
import fs = require('node:fs')
import { CniError, ErrorCode } from '../protocol/errors'
import type { DNS } from '../protocol/result'

export function readResolvConf(file: string): DNS {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    throw new CniError(ErrorCode.IoFailure, `cannot read ipam.resolvConf ${file}: ${(e as Error).message}`)
  }
  const dns: DNS = {}
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/)
    if (fields[0] === '' || fields[0].startsWith('#') || fields[0].startsWith(';') || fields.length < 2) continue
    const [key, ...rest] = fields
    if (key === 'nameserver') (dns.nameservers ??= []).push(rest[0])
    else if (key === 'domain') dns.domain = rest[0]
    else if (key === 'search') (dns.search ??= []).push(...rest)
    else if (key === 'options') (dns.options ??= []).push(...rest)
  }
  return dns
}
