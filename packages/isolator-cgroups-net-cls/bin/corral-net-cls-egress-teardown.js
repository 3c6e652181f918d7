#!/usr/bin/env node
// For an agent stopped for good, after its containers are destroyed: removes the nft table and
// HTB roots that cgroups/net_cls egress installed, as recorded under the agent's runtime dir.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { teardownEgress } from '../dist/index.js';

const USAGE = `Usage: corral-net-cls-egress-teardown [<runtime_dir>]

Removes the nftables table and HTB roots that cgroups/net_cls egress accounting and shaping
installed for an agent that is stopped for good (after its containers are destroyed), as
recorded in <runtime_dir>/isolators/cgroups/net_cls/egress.json. <runtime_dir> is the agent's
--runtime_dir (default /var/run/corral).
`;

const [argument, ...rest] = process.argv.slice(2);
if (argument === '--help' || argument === '-h') {
  process.stdout.write(USAGE);
} else if (argument === '--version') {
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`corral-net-cls-egress-teardown ${version}\n`);
} else if (rest.length > 0 || argument?.startsWith('-')) {
  process.stderr.write(
    `corral-net-cls-egress-teardown: unexpected argument '${rest[0] ?? argument}'\n${USAGE}`,
  );
  process.exit(2);
} else {
  const runtimeDir = argument ?? '/var/run/corral';
  await teardownEgress(join(runtimeDir, 'isolators', 'cgroups', 'net_cls', 'egress.json'));
}
