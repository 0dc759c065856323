// The executable invoked as `host-local`: the reference host-local plugin's exact contract, so it can be
// installed under that name and compared with the reference on the same inputs.
import { pluginMain, validAttachments } from '../protocol/skel'
import { allocate, check, gc, parseHostLocal, release, status } from './host-local'

export async function runHostLocal(): Promise<void> {
  await pluginMain(
    {
      add: async ({ env, conf }) => allocate(parseHostLocal(conf, env), env.containerId, env.ifname),
      del: async ({ env, conf }) => release(parseHostLocal(conf, env), env.containerId, env.ifname),
      check: async ({ env, conf }) => check(parseHostLocal(conf, env), env.containerId, env.ifname),
      gc: async ({ env, conf }) => {
        await gc(parseHostLocal(conf, env), validAttachments(conf))
      },
      status: async ({ env, conf }) => status(parseHostLocal(conf, env)),
    },
    'CNI host-local IPAM plugin (sriov-ts, in-process compatible store)',
  )
}
