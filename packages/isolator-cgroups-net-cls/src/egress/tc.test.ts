import { describe, expect, it } from 'vitest';
import { classLines, classOf, parseClasses, parseRoot, removeClassLine, rootLine } from './tc.ts';

describe('the egress HTB tree', () => {
  it('writes handles in hex as tc does', () => {
    expect(classOf(0x7a1, 0x1f)).toBe('7a1:1f');
    expect(rootLine('eth0', 0x19)).toBe(
      'qdisc replace dev eth0 root handle 19: htb default 0 r2q 10',
    );
    expect(removeClassLine('eth0', 0x19, 10)).toBe('class del dev eth0 classid 19:a');
  });

  it('gives a class rate == ceil, a burst of at least 32 KiB and a bounded leaf', () => {
    expect(classLines('eth0', 0x19, 1, 20e6, 'bfifo')).toEqual([
      'class replace dev eth0 parent 19: classid 19:1 htb rate 20Mbit ceil 20Mbit burst 32768b cburst 32768b quantum 1514',
      'qdisc replace dev eth0 parent 19:1 bfifo limit 131072',
    ]);
    expect(classLines('eth0', 0x19, 1, 20e6, 'fq_codel')[1]).toBe(
      'qdisc replace dev eth0 parent 19:1 fq_codel',
    );
  });

  it('reads the root qdisc and the classes under the primary with their statistics', () => {
    expect(parseRoot('[{"kind":"htb","handle":"7a1:","root":true}]')).toEqual({
      kind: 'htb',
      handle: '7a1:',
    });
    expect(parseRoot('[]')).toBeUndefined();
    const text = [
      'class htb 7a1:5 root leaf 8001: prio 0 rate 20Mbit ceil 20Mbit burst 32Kb cburst 32Kb ',
      ' Sent 12592055 bytes 8702 pkt (dropped 67, overlimits 0 requeues 0) ',
      ' backlog 0b 0p requeues 0',
      'class htb 19:1 root prio 0 rate 1Mbit ceil 1Mbit burst 1600b cburst 1600b ',
      ' Sent 5 bytes 1 pkt (dropped 0, overlimits 0 requeues 0) ',
      'class htb 7a1:1f root prio 0 rate 1Mbit ceil 1Mbit burst 1600b cburst 1600b ',
      '',
    ].join('\n');
    expect(parseClasses(text, 0x7a1)).toEqual(
      new Map([
        [5, { bytes: 12_592_055, packets: 8702, dropped: 67 }],
        [0x1f, { bytes: 0, packets: 0, dropped: 0 }],
      ]),
    );
  });
});
