// Loads the native addons (netlink, koffi). Every other module gets them from here, so that the single
// executable build can substitute loading them from SEA assets written to an exec-able path.
export function loadNetlink(): typeof import('netlink') {
  return require('netlink')
}

export function loadKoffi(): typeof import('koffi') {
  return require('koffi')
}
