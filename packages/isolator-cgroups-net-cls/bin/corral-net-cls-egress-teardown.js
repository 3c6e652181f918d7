#!/usr/bin/env node
// For an agent stopped for good, after its containers are destroyed: removes the nft table and
// HTB roots that cgroups/net_cls egress installed, as recorded under the agent's runtime dir.
// Usage: corral-net-cls-egress-teardown [<runtime_dir>, default /var/run/corral]
import { join } from 'node:path';
import { teardownEgress } from '../dist/index.js';

const runtimeDir = process.argv[2] ?? '/var/run/corral';
await teardownEgress(join(runtimeDir, 'isolators', 'cgroups', 'net_cls', 'egress.json'));
