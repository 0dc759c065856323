// sriovdp's flags: its own, and the Go plugin's as its image passes them (glog's, in Go's flag syntax).
import t from 'tap'
import { seamsFrom } from '../../host/seams'
import { HelpRequested, parseOptions, USAGE } from '../../deviceplugin/cli'
import { goFlagArgs } from '../../deviceplugin/go-flags'

const opts = (...argv: string[]) => parseOptions(argv, seamsFrom({}))

t.test('the Go image\'s invocation: -v N --logtostderr --resource-prefix P --config-file F --use-cdi', async (t) => {
  const o = opts('-v', '10', '--logtostderr', '--resource-prefix', 'openshift.io', '--config-file', '/etc/pcidp/worker-0', '--use-cdi')
  t.match(o, { logLevel: 'trace', resourcePrefix: 'openshift.io', configFile: '/etc/pcidp/worker-0', cdiSpecDir: '/var/run/cdi' })
  t.notOk(o.logDir)
  t.match(opts('-v', '10', '--log_dir', '/var/log/x', '--alsologtostderr'), { logDir: '/var/log/x' })
  t.notOk(opts('--log_dir', '/var/log/x', '--logtostderr').logDir, '--logtostderr: no files, as glog')
  t.match(opts('--log-dir=/var/log/y'), { logDir: '/var/log/y' })
})

t.test('glog verbosity to pino levels; an explicit --log-level wins', async (t) => {
  const level = (...a: string[]) => opts(...a).logLevel
  t.same(['0', '1', '2', '3', '4', '5', '10'].map((v) => level('-v', v)), ['info', 'info', 'info', 'debug', 'debug', 'trace', 'trace'])
  t.equal(level('--v=4'), 'debug')
  t.equal(level('-v=3'), 'debug', 'Go allows -flag=value')
  t.equal(level('--log-level=10'), 'trace', 'the Go image\'s --log-level=N reaches sriovdp as a verbosity too')
  t.equal(level('--log-level', 'warn', '-v', '10'), 'warn')
  t.equal(level(), 'info')
  t.throws(() => opts('--log-level=loud'), /--log-level: "loud" must be a glog verbosity/)
  t.throws(() => opts('-v', 'x'), /-v: "x" must be a glog verbosity/)
})

t.test('Go\'s flag syntax: one dash for long flags, booleans with =true/=false', async (t) => {
  t.same(goFlagArgs(['-config-file=/a', '-use-cdi', '-v', '3', '--use-cdi=false', '--logtostderr=TRUE', '--', '-x'], ['use-cdi', 'logtostderr']), ['--config-file=/a', '--use-cdi', '-v', '3', '--logtostderr', '--', '-x'])
  t.match(opts('-config-file', '/b', '-resource-prefix=example.com', '-use-cdi=true'), { configFile: '/b', resourcePrefix: 'example.com', cdiSpecDir: '/var/run/cdi' })
  t.notOk(opts('--use-cdi=false').cdiSpecDir)
  t.match(opts('--use-cdi', '--cdi-spec-dir', '/etc/cdi'), { cdiSpecDir: '/etc/cdi' })
  t.throws(() => opts('--frobnicate'), /Unknown option '--frobnicate'/)
})

t.test("the rest of glog's flags are taken and listed as ignored; flags glog does not have are refused, as in Go", async (t) => {
  const o = opts('-stderrthreshold=INFO', '--vmodule=server=2', '-log_backtrace_at', 'x.go:1', '--log_link=/tmp', '-logbuflevel=0', '-v=4')
  t.same(o.ignoredGlogFlags, ['-stderrthreshold=INFO', '-vmodule=server=2', '-log_backtrace_at=x.go:1', '-log_link=/tmp', '-logbuflevel=0'])
  t.equal(o.logLevel, 'debug')
  t.same(opts().ignoredGlogFlags, [])
  // klog's flags are not glog's: the Go binary (golang/glog) refuses them too
  t.throws(() => opts('--skip_headers'), /skip_headers/)
})

t.test("an argument that is no flag ends the flags, as Go's flag.Parse ends them: it and what follows are listed as ignored (red team 9: exit 2)", async (t) => {
  const o = opts('--config-file', '/etc/x.json', 'extra', '--resource-prefix', 'nvidia.com')
  t.equal(o.configFile, '/etc/x.json')
  t.equal(o.resourcePrefix, 'intel.com', 'a flag after it is not read, as in Go')
  t.same(o.ignoredArgs, ['extra', '--resource-prefix', 'nvidia.com'])
  t.same(opts('-v', '10', '--', '--config-file', 'y').ignoredArgs, ['--', '--config-file', 'y'], '"--" ends them too')
  t.same(opts('--config-file', 'x').ignoredArgs, [])
  t.throws(() => opts('--no-such-flag', 'value'), /no-such-flag/, 'an unknown flag before it is still refused')
})

t.test("a boolean flag takes every value Go's strconv.ParseBool takes, and refuses the rest (red team 10)", async (t) => {
  for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True']) t.equal(opts(`--use-cdi=${v}`).cdiSpecDir, '/var/run/cdi', `--use-cdi=${v}`)
  for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False']) t.equal(opts(`-use-cdi=${v}`).cdiSpecDir, undefined, `-use-cdi=${v}`)
  t.same(goFlagArgs(['--logtostderr=1', '-alsologtostderr=F'], ['logtostderr', 'alsologtostderr']), ['--logtostderr'])
  for (const v of ['yes', 'tRuE', '2', '']) t.throws(() => opts(`--use-cdi=${v}`), /use-cdi/, `--use-cdi=${v} refused, as Go refuses it`)
})

t.test('-h and -help ask for the usage, as in Go (exit 0); after the flags end they are ignored like any argument', async (t) => {
  for (const h of ['-h', '--h', '-help', '--help']) t.throws(() => opts('--config-file', 'x', h), new HelpRequested('help'), h)
  t.same(opts('stop', '-h').ignoredArgs, ['stop', '-h'])
  t.match(USAGE, /--config-file value \(default "\/etc\/pcidp\/config\.json"\)/)
})
