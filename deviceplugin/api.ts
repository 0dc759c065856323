// The kubelet gRPC APIs, loaded from proto/ (or from the single executable's assets).
import fs = require('node:fs')
import path = require('node:path')
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import protobuf from 'protobufjs'

function protoText(name: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sea = require('node:sea') as { isSea(): boolean; getAsset(k: string, enc: string): string }
  if (sea.isSea()) return sea.getAsset(name, 'utf8')
  // from the source tree or a bundle under dist/: the nearest proto/ directory above this file
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'proto', name)
    if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8')
  }
  throw new Error(`cannot find ${name} next to the program`)
}

function load(name: string): grpc.GrpcObject {
  const root = protobuf.parse(protoText(name), { keepCase: true }).root
  const def = protoLoader.fromJSON(root.toJSON(), { keepCase: true, longs: Number, defaults: true })
  return grpc.loadPackageDefinition(def)
}

export type ServiceCtor = grpc.ServiceClientConstructor

let cached: { DevicePlugin: ServiceCtor; Registration: ServiceCtor; Watcher: ServiceCtor } | undefined

export function api() {
  if (!cached) {
    const dp = load('deviceplugin.proto').v1beta1 as grpc.GrpcObject
    const reg = load('pluginregistration.proto').pluginregistration as grpc.GrpcObject
    cached = { DevicePlugin: dp.DevicePlugin as ServiceCtor, Registration: dp.Registration as ServiceCtor, Watcher: reg.Registration as ServiceCtor }
  }
  return cached
}

export interface Device {
  ID: string
  health: 'Healthy' | 'Unhealthy'
  topology?: { nodes: { ID: number }[] }
}
