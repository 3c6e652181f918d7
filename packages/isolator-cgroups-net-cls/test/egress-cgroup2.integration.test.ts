import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCgroup2Mount } from '@corral/cgroupfs';
import { describeOnKernel } from '@corral/test-support/kernel';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { cgroup2Keys, Egress, egressKeys, tableScript, teardownEgress } from '../src/index.ts';
import { deleteTable, nftState, TestLink, udpSends } from './egress-helpers.ts';

// A primary and a 198.18.3.0/29 slot no other test file uses.
const PRIMARY = 0x7a4;
const SLOT = 3;
const TABLE = 'corral_egress_v2_test';

describeOnKernel(
  'egress keyed by cgroup v2 path (socket cgroupv2)',
  { root: true, cgroup2: true, commands: ['nft', 'tc', 'ip', 'bash', 'unshare'] },
  () => {
    const mount = findCgroup2Mount() as string;
    let link: TestLink;
    let dir: string;
    let root: string;

    beforeEach(() => {
      link = new TestLink(SLOT);
      dir = mkdtempSync(join(tmpdir(), 'corral-egress-v2-'));
      root = `corral-egress-v2-${randomBytes(3).toString('hex')}`;
      mkdirSync(join(mount, root, 'a'), { recursive: true });
      mkdirSync(join(mount, root, 'b'));
    });

    afterEach(async () => {
      try {
        await teardownEgress(join(dir, 'egress.json'));
        expect(nftState(TABLE).exists).toBe(false);
      } finally {
        // The link last: removing it is the step most likely to throw.
        deleteTable(TABLE);
        for (const child of ['a', 'b', '']) rmdirSync(join(mount, root, child));
        rmSync(dir, { recursive: true, force: true });
        link?.delete();
      }
    });

    /** Runs `script` with bash inside the v2 cgroup `name` (it moves itself before sending). */
    function inCgroup(name: string, script: string): void {
      const procs = join(mount, root, name, 'cgroup.procs');
      const result = spawnSync('bash', ['-c', `echo $$ > ${procs}; ${script}`], { stdio: 'pipe' });
      expect(result.status, String(result.stderr)).toBe(0);
    }

    it('passes nft -c with the table, the map and a path element', () => {
      const kind = cgroup2Keys(mount, root);
      const keys = egressKeys(kind);
      const script = tableScript({
        table: TABLE,
        keys,
        accounting: true,
        interfaces: [link.dev],
        classes: new Map([[`${kind.root}/a`, '7a4:1']]),
      });
      execFileSync('nft', ['-c', '-f', '-'], { input: script });
      expect(keys.expression).toBe('socket cgroupv2 level 2');
    });

    it('counts and shapes exactly by cgroup path, with nothing for another cgroup', async () => {
      const kind = cgroup2Keys(mount, root);
      const keyRoot = kind.root;
      const egress = new Egress({
        table: TABLE,
        keys: kind,
        accounting: true,
        shaping: { interfaces: [link.dev], primary: PRIMARY, leaf: 'bfifo' },
        stateFile: join(dir, 'egress.json'),
        maxAgeMs: 0,
      });
      await egress.start([]);
      await egress.add({ key: `${keyRoot}/a`, minor: 1, rate: 10_000_000 });
      await egress.add({ key: `${keyRoot}/b`, minor: 2 });
      inCgroup('a', udpSends(link.remote, 50, 200));
      inCgroup('b', 'true');

      expect(await egress.counters(`${keyRoot}/a`)).toEqual({ bytes: 50 * 228, packets: 50 });
      expect(await egress.counters(`${keyRoot}/b`)).toEqual({ bytes: 0, packets: 0 });
      // Steered by the map into class 7a4:1: every datagram (plus 14 B of Ethernet each).
      expect(link.classes(PRIMARY).get(1)).toMatchObject({ packets: 50, bytes: 50 * 242 });

      await egress.remove(`${keyRoot}/a`);
      await egress.remove(`${keyRoot}/b`);
      expect(nftState(TABLE)).toMatchObject({ counted: [], shaped: [] });
      expect([...link.classes(PRIMARY).keys()]).toEqual([]);
    });
  },
);
