import { describe, expect, it } from 'vitest';
import { burstBytes, parseRate, queueBytes, rateProblem, tcRate } from './rate.ts';

describe('egress rates', () => {
  it.each([
    ['20M', 20_000_000],
    ['500k', 500_000],
    ['1.5G', 1_500_000_000],
    ['1Gi', 2 ** 30],
    ['8000', 8_000],
  ])('reads %s as %d bit/s, as Kubernetes does', (raw, bits) => {
    expect(parseRate(raw)).toBe(bits);
  });

  it.each([
    ['20Mbit', /'20Mbit' is not a quantity like 20M/],
    ['20 M', /'20 M' is not a quantity/],
    ['-5M', /'-5M' is not a quantity/],
    ['0', /'0' is not an egress rate: a rate of 0 would stop all traffic/],
    ['100', /'100' is not an egress rate: it is below 8000 bit\/s/],
    ['2T', /'2T' is not an egress rate: it is above/],
  ])('refuses %s, naming it', (raw, message) => {
    expect(() => parseRate(raw)).toThrow(message);
  });

  it('says why a number is no rate', () => {
    expect(rateProblem(Number.NaN)).toBe('it is not a number');
    expect(rateProblem(20e6)).toBeUndefined();
  });

  it('writes rates as tc does and sizes bursts and queues from them', () => {
    expect(tcRate(20e6)).toBe('20Mbit');
    expect(tcRate(1.5e9)).toBe('1500Mbit');
    expect(tcRate(8_500)).toBe('8500bit');
    expect(burstBytes(20e6)).toBe(32 * 1024);
    expect(burstBytes(1e9)).toBe(1_250_000);
    expect(queueBytes(20e6)).toBe(128 * 1024);
    expect(queueBytes(1e9)).toBe(6_250_000);
  });
});
