// Kernel-format uevents sent by the test into a network namespace (root only): a daemon listening there
// receives them as it would the kernel's, and nobody else does.
import { Netns } from '../../host/netns'
import { libc } from '../../host/libc'

const AF_NETLINK = 16
const SOCK_RAW = 3
const SOCK_CLOEXEC = 0o2000000
const NETLINK_KOBJECT_UEVENT = 15

/** sockaddr_nl: family, pad, port 0 (the kernel), `groups`. */
function sockaddrNl(groups: number): Buffer {
  const b = Buffer.alloc(12)
  b.writeUInt16LE(AF_NETLINK, 0)
  b.writeUInt32LE(groups, 8)
  return b
}

/** Sends `n` PCI uevents for `devpath` to the kernel uevent group of the namespace at `netnsPath`, back to back. */
export function sendUevents(netnsPath: string, n: number, devpath = '/devices/pci0000:00/0000:01:10.1'): void {
  const c = libc()
  const ns = Netns.open(netnsPath)
  let fd: number
  try {
    fd = ns.run(() => c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT) as number)
  } finally {
    ns.close()
  }
  if (fd < 0) throw new Error(`socket(NETLINK_KOBJECT_UEVENT) failed: errno ${c.errno()}`)
  try {
    if ((c.bind(fd, sockaddrNl(0), 12) as number) !== 0) throw new Error(`bind failed: errno ${c.errno()}`)
    const to = sockaddrNl(1)
    for (let i = 0; i < n; i++) {
      const action = ['add', 'remove', 'change', 'bind'][i % 4]
      const msg = Buffer.from(`${action}@${devpath}\0ACTION=${action}\0DEVPATH=${devpath}\0SUBSYSTEM=pci\0DRIVER=ixgbevf\0SEQNUM=${100000 + i}\0`)
      if ((c.sendto(fd, msg, msg.length, 0, to, 12) as number) < 0) throw new Error(`sendto failed after ${i} uevents: errno ${c.errno()}`)
    }
  } finally {
    c.close(fd)
  }
}
