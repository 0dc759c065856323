// A container without a container engine: a private mount namespace (unshare) whose root is an overlay of
// the image's files, laid out from the COPY lines of a deploy/Containerfile target, on this Debian host's
// system directories (usr, etc: the base image's stand-in; the host's state in /run, /var, /tmp, /work ...
// is masked), read-only as with readOnlyRootFilesystem or on a throwaway upper layer, with the pod's volumes
// bound in and /proc, /sys and /dev as a privileged container sees them. The process is chroot'ed there.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ROOT } from './plugin-exec'

export interface Bind {
  source: string // a host directory or file
  target: string // where the container sees it
  readOnly?: boolean
}

export interface ContainerOptions {
  /** the deploy/Containerfile target whose files form the image; none: only the base */
  image?: string
  readOnlyRoot: boolean
  binds?: Bind[]
  /** device nodes beyond null, zero, random, urandom, tty (a /dev of only these); default: the host's /dev */
  devNodes?: { path: string; major: number; minor: number }[]
  env?: Record<string, string>
  /** the image's ENTRYPOINT runs with these arguments, unless `command` replaces it */
  args?: string[]
  command?: string[]
}

export interface Container {
  child: ChildProcess
  stdout: string
  stderr: string
  exited(): Promise<number | null>
}

/**
 * Whether the container's stderr comes to satisfy `seen` within `ms`: a line it logs while answering a call can
 * reach our pipe after the answer does.
 */
export async function stderrShows(c: Container, seen: (stderr: string) => boolean, ms = 10000): Promise<boolean> {
  for (const deadline = Date.now() + ms; !seen(c.stderr); ) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 20))
  }
  return true
}

interface ImageFile {
  source: string // in the project (the build stage's /src) or the build context, i.e. the project too
  dest: string
  mode?: number
  dir?: boolean
}

export interface ImageLayout {
  files: ImageFile[]
  entrypoint: string[]
}

const CONTAINERFILE = path.join(ROOT, 'deploy', 'Containerfile')
// what the base image shares with this host; every other top-level entry is masked
const SYSTEM_DIRS = new Set(['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'usr', 'etc', 'dev', 'proc', 'sys'])
// the empty state directories a Debian image has, and its /var/run and /var/lock links
const SKELETON_DIRS = ['run/lock', 'tmp', 'var/lib', 'var/log', 'var/tmp', 'var/cache', 'root', 'home', 'opt', 'srv', 'mnt', 'media']
const SKELETON_LINKS: [string, string][] = [['var/run', '../run'], ['var/lock', '../run/lock']]

/** The files of `target` in deploy/Containerfile (its COPY lines and those of the stages it is built FROM). */
export function imageLayout(target: string, text = fs.readFileSync(CONTAINERFILE, 'utf8')): ImageLayout {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  const stages = new Map<string, { from: string; lines: string[] }>()
  let current: { from: string; lines: string[] } | undefined
  for (const l of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(l)
    if (from) {
      current = { from: from[1], lines: [] }
      if (from[2]) stages.set(from[2], current)
    } else current?.lines.push(l)
  }
  const layout: ImageLayout = { files: [], entrypoint: [] }
  const add = (name: string): void => {
    const stage = stages.get(name)
    if (!stage) throw new Error(`deploy/Containerfile has no stage named ${name}`)
    if (stages.has(stage.from)) add(stage.from)
    for (const l of stage.lines) {
      const [word, ...rest] = l.split(/\s+/)
      if (/^ENTRYPOINT$/i.test(word)) layout.entrypoint = JSON.parse(rest.join(' '))
      if (!/^COPY$/i.test(word)) continue
      const flags = Object.fromEntries(rest.filter((w) => w.startsWith('--')).map((w) => w.slice(2).split('=') as [string, string]))
      const [src, dest, ...more] = rest.filter((w) => !w.startsWith('--'))
      if (more.length || !dest) throw new Error(`deploy/Containerfile: one source per COPY here: ${l}`)
      let source = src
      if (flags.from) {
        if (!src.startsWith('/src/')) throw new Error(`deploy/Containerfile: --from=${flags.from} sources are under the build stage's /src: ${l}`)
        source = src.slice('/src/'.length)
      }
      layout.files.push({ source: path.join(ROOT, source), dest, dir: src.endsWith('/'), ...(flags.chmod ? { mode: parseInt(flags.chmod, 8) } : {}) })
    }
  }
  add(target)
  return layout
}

/** Single-quoted for sh. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** A container path as the merged root resolves it: the skeleton's /var/run and /var/lock are links into /run. */
function inRoot(p: string): string {
  let out = path.posix.normalize(p)
  for (const [link, to] of SKELETON_LINKS) {
    const abs = `/${link}`
    if (out === abs || out.startsWith(`${abs}/`)) out = path.posix.join('/var', to, out.slice(abs.length))
  }
  return out
}

const BASIC_DEV: { path: string; major: number; minor: number }[] = [
  { path: 'null', major: 1, minor: 3 }, { path: 'zero', major: 1, minor: 5 }, { path: 'random', major: 1, minor: 8 },
  { path: 'urandom', major: 1, minor: 9 }, { path: 'tty', major: 5, minor: 0 },
]

/** The shell script that builds the root in a new mount namespace and execs the container's process there. */
function setupScript(work: string, o: ContainerOptions): string {
  const image = path.join(work, 'layers', 'image')
  const mask = path.join(work, 'layers', 'mask')
  const root = path.join(work, 'root')
  const s = ['set -eu', `mount -t tmpfs -o mode=0755 tmpfs ${q(path.join(work, 'layers'))}`, `mkdir -p ${q(image)} ${q(mask)}`]
  // mask the host's own state: a whiteout (char 0:0) per top-level entry the base image does not share
  for (const e of fs.readdirSync('/')) if (!SYSTEM_DIRS.has(e)) s.push(`mknod ${q(path.join(mask, e))} c 0 0`)
  for (const d of SKELETON_DIRS) s.push(`mkdir -p ${q(path.join(image, d))}`)
  s.push(`chmod 1777 ${q(path.join(image, 'tmp'))} ${q(path.join(image, 'var/tmp'))}`)
  for (const [link, to] of SKELETON_LINKS) s.push(`ln -s ${q(to)} ${q(path.join(image, link))}`)
  const layout = o.image ? imageLayout(o.image) : { files: [], entrypoint: [] }
  for (const f of layout.files) {
    const dest = path.join(image, f.dest)
    if (f.dir) s.push(`mkdir -p ${q(dest)}`, `cp -a ${q(`${f.source}/.`)} ${q(`${dest}/`)}`)
    else {
      const mode = (f.mode ?? fs.statSync(f.source).mode & 0o7777).toString(8)
      s.push(`install -D -o 0 -g 0 -m ${mode} ${q(f.source)} ${q(f.dest.endsWith('/') ? path.join(dest, path.basename(f.source)) : dest)}`)
    }
  }
  const binds = o.binds ?? []
  for (const b of binds) {
    const at = path.join(image, inRoot(b.target))
    if (fs.statSync(b.source).isDirectory()) s.push(`mkdir -p ${q(at)}`)
    else s.push(`mkdir -p ${q(path.dirname(at))}`, `touch ${q(at)}`)
  }
  const lower = `lowerdir=${image}:${mask}:/`
  if (o.readOnlyRoot) s.push(`mount -t overlay overlay -o ${q(lower)} ${q(root)}`)
  else {
    const rw = path.join(work, 'rw')
    s.push(`mount -t tmpfs tmpfs ${q(rw)}`, `mkdir ${q(`${rw}/upper`)} ${q(`${rw}/work`)}`)
    s.push(`mount -t overlay overlay -o ${q(`${lower},upperdir=${rw}/upper,workdir=${rw}/work`)} ${q(root)}`)
  }
  s.push(`mount --rbind /proc ${q(`${root}/proc`)}`, `mount --rbind /sys ${q(`${root}/sys`)}`)
  if (o.devNodes) {
    s.push(`mount -t tmpfs -o mode=0755 tmpfs ${q(`${root}/dev`)}`)
    for (const n of [...BASIC_DEV, ...o.devNodes]) {
      const at = path.join(root, 'dev', n.path)
      s.push(`mkdir -p ${q(path.dirname(at))}`, `mknod -m 0666 ${q(at)} c ${n.major} ${n.minor}`)
    }
  } else s.push(`mount --rbind /dev ${q(`${root}/dev`)}`)
  for (const b of binds) {
    const at = path.join(root, inRoot(b.target))
    s.push(`mount --rbind ${q(b.source)} ${q(at)}`)
    if (b.readOnly) s.push(`mount -o remount,bind,ro ${q(at)}`)
  }
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...o.env }
  const argv = [...(o.command ?? layout.entrypoint), ...(o.args ?? [])]
  if (!argv.length) throw new Error(`image ${o.image ?? '(base)'} has no ENTRYPOINT and no command was given`)
  s.push(`exec chroot ${q(root)} /usr/bin/env -i ${Object.entries(env).map(([k, v]) => q(`${k}=${v}`)).join(' ')} ${argv.map(q).join(' ')}`)
  return `${s.join('\n')}\n`
}

/** Starts the container; killed and its directories removed at teardown. `stdin`: written, then closed. */
export function runContainer(t: { teardown(fn: () => void): void }, o: ContainerOptions, stdin?: string): Container {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ctr-'))
  for (const d of ['layers', 'root', 'rw']) fs.mkdirSync(path.join(work, d))
  const script = path.join(work, 'setup.sh')
  fs.writeFileSync(script, setupScript(work, o))
  // mount propagation private: nothing mounted here is seen outside, and all of it goes with the process
  const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', script], { stdio: ['pipe', 'pipe', 'pipe'] })
  const c: Container = {
    child,
    stdout: '',
    stderr: '',
    exited() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
      return new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    },
  }
  child.stdout!.on('data', (d) => (c.stdout += d))
  child.stderr!.on('data', (d) => (c.stderr += d))
  child.stdin!.on('error', () => {})
  child.stdin!.end(stdin ?? '')
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    fs.rmSync(work, { recursive: true, force: true })
  })
  return c
}
