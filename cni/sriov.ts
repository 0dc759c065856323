// The `sriov` CNI plugin: the verbs on the protocol's plugin main, logging configured from the config.
import { pluginMain, type PluginContext } from '../protocol/skel'
import { cmdAdd } from './add'
import { cmdCheck } from './check'
import { cmdDel } from './del'
import { cmdGc } from './gc'
import { configureLog, log } from './log'
import { logSettings } from './log-settings'
import { cmdStatus } from './status'

function logged<T>(verb: string, fn: (c: PluginContext) => Promise<T>): (c: PluginContext) => Promise<T> {
  return async (c) => {
    const settings = logSettings(c.conf.raw)
    configureLog(settings.level, settings.file, { containerId: c.env.containerId, ifname: c.env.ifname, netns: c.env.netns })
    for (const w of settings.warnings) log('warning', w)
    try {
      return await fn(c)
    } catch (e) {
      const msg = (e as Error).message
      log('error', msg.startsWith(`${verb} `) ? msg : `${verb} failed: ${msg}`) // "CHECK failed: ..." once, not twice
      throw e
    }
  }
}

export async function runSriov(): Promise<void> {
  await pluginMain(
    {
      add: logged('ADD', cmdAdd),
      del: logged('DEL', cmdDel),
      check: logged('CHECK', cmdCheck),
      status: logged('STATUS', cmdStatus),
      gc: logged('GC', cmdGc),
    },
    'CNI sriov plugin: moves an SR-IOV VF into a pod and configures it through its PF (sriov-ts)',
  )
}
