// A container of a rendered DaemonSet (sriov-network-operator's), run as kubelet would run it: its image
// (the Containerfile target its image name ends with), arguments with $(VAR) expanded from its environment,
// fieldRefs resolved for one node, readOnlyRootFilesystem, and its volumes: hostPath volumes bound from the
// directories standing in for the node's paths, ConfigMap volumes from a directory kubelet keeps them in.
import fs from 'node:fs'
import { parseAllDocuments } from 'yaml'
import type { Bind, ContainerOptions } from './container'

export interface NodeOfPod {
  nodeName: string
  podName?: string
  /** hostPath → the directory (or file) standing in for it */
  hostPaths: Record<string, string>
  /** ConfigMap name → its volume directory (writeConfigMapVolume) */
  configMaps?: Record<string, string>
}

/** The DaemonSet in `file` (the first document of that kind). */
export function readDaemonSet(file: string): any {
  const ds = parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS()).find((o) => o?.kind === 'DaemonSet')
  if (!ds) throw new Error(`${file} holds no DaemonSet`)
  return ds
}

export function daemonSetContainer(ds: any, name: string, node: NodeOfPod): ContainerOptions {
  const spec = ds.spec.template.spec
  const c = [...(spec.initContainers ?? []), ...spec.containers].find((x: any) => x.name === name)
  if (!c) throw new Error(`DaemonSet ${ds.metadata.name} has no container ${name}`)
  const image = /\/sriov-ts\/([^:/]+)(:|$)/.exec(c.image)?.[1]
  if (!image) throw new Error(`container ${name} runs ${c.image}, not a sriov-ts image`)
  const fields: Record<string, string> = { 'spec.nodeName': node.nodeName, 'metadata.name': node.podName ?? `${ds.metadata.name}-x1`, 'metadata.namespace': ds.metadata.namespace }
  const env: Record<string, string> = {}
  for (const e of c.env ?? []) env[e.name] = e.value ?? fields[e.valueFrom?.fieldRef?.fieldPath] ?? ''
  const expand = (s: string) => s.replace(/\$\((\w+)\)/g, (all, v) => env[v] ?? all)
  const binds: Bind[] = (c.volumeMounts ?? []).map((m: any) => {
    const vol = spec.volumes.find((v: any) => v.name === m.name)
    let source: string | undefined
    if (vol?.hostPath) source = node.hostPaths[vol.hostPath.path]
    else if (vol?.configMap) source = node.configMaps?.[vol.configMap.name]
    if (!source) throw new Error(`volume ${m.name} of ${name}: nothing stands in for ${JSON.stringify(vol)}`)
    return { source, target: m.mountPath.replace(/\/$/, ''), readOnly: m.readOnly === true }
  })
  return {
    image,
    readOnlyRoot: c.securityContext?.readOnlyRootFilesystem === true,
    binds,
    env,
    ...(c.command ? { command: c.command.map(expand) } : {}),
    args: (c.args ?? []).map(expand),
  }
}
