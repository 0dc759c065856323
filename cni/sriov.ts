import { CniError } from '../protocol/errors'
import { pluginMain } from '../protocol/skel'
const todo = async () => { throw new CniError(2, 'not implemented yet') }
export async function runSriov(): Promise<void> {
  await pluginMain({ add: todo, del: todo, check: todo, status: todo, gc: todo }, 'CNI sriov plugin')
}
