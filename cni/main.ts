// Entry of the `sriov` bundle run by node (tests): the single executable starts from cni/snapshot.ts instead.
import { main } from './entry'

main()
