import { describe, expect, it } from 'vitest';
import {
  containerIdToString,
  MAX_CONTAINER_ID_BYTES,
  parseContainerId,
  rootContainerId,
  validateContainerId,
  validateContainerIdValue,
} from './container-id.ts';
import { InvalidContainerIdError } from './errors.ts';

function ruleOf(action: () => void): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof InvalidContainerIdError) return error.rule;
    throw error;
  }
  return undefined;
}

describe('validateContainerIdValue', () => {
  it.each([
    'web-1',
    'a',
    'uuid:4f1c',
    'with_underscore@host',
    'ünïcode',
    'x'.repeat(MAX_CONTAINER_ID_BYTES),
  ])('accepts %j', (value) => {
    expect(() => validateContainerIdValue(value)).not.toThrow();
  });

  it.each([
    ['', 'empty'],
    ['.', 'reserved_name'],
    ['..', 'reserved_name'],
    ['a/b', 'invalid_characters'],
    ['../x', 'invalid_characters'],
    ['a\\b', 'invalid_characters'],
    ['a.b', 'invalid_characters'],
    ['a b', 'invalid_characters'],
    ['tab\there', 'invalid_characters'],
    ['new\nline', 'invalid_characters'],
    ['nul\u0000', 'invalid_characters'],
    ['del\u007f', 'invalid_characters'],
    ['c1\u0085', 'invalid_characters'],
    ['x'.repeat(MAX_CONTAINER_ID_BYTES + 1), 'too_long'],
    // 122 two-byte characters: 122 characters but 244 bytes.
    ['é'.repeat(122), 'too_long'],
  ])('rejects %j as %s', (value, rule) => {
    expect(ruleOf(() => validateContainerIdValue(value))).toBe(rule);
  });

  it('rejects non-strings', () => {
    expect(ruleOf(() => validateContainerIdValue(42))).toBe('not_a_string');
    expect(ruleOf(() => validateContainerIdValue(undefined))).toBe('not_a_string');
  });

  it('names the value and the rule in the message', () => {
    expect(() => validateContainerIdValue('a/b')).toThrow(
      /"a\/b" contains invalid characters: '\/', '\\', '\.', space and control characters/,
    );
    expect(() => validateContainerIdValue('x'.repeat(300))).toThrow(
      /300 bytes long; the maximum is 242/,
    );
    expect(() => validateContainerIdValue('..')).toThrow(/'\.\.' is disallowed/);
  });

  it('carries a stable code', () => {
    try {
      validateContainerIdValue('');
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidContainerIdError).code).toBe('CORRAL_INVALID_CONTAINER_ID');
    }
  });
});

describe('validateContainerId', () => {
  it('validates parents and says which level failed', () => {
    expect(() => validateContainerId({ value: 'child', parent: { value: 'a/b' } })).toThrow(
      /^'ContainerID.parent' is invalid: ContainerID value "a\/b"/,
    );
    expect(() => validateContainerId({ value: 'child', parent: { value: 'ok' } })).not.toThrow();
  });

  it('rejects non-objects', () => {
    expect(() => validateContainerId('plain')).toThrow(InvalidContainerIdError);
    expect(() => validateContainerId(null)).toThrow(InvalidContainerIdError);
  });
});

describe('string form', () => {
  it('joins the parent chain with dots and parses it back', () => {
    const id = { value: 'c', parent: { value: 'b', parent: { value: 'a' } } };
    expect(containerIdToString(id)).toBe('a.b.c');
    expect(parseContainerId('a.b.c')).toEqual(id);
    expect(rootContainerId(id)).toEqual({ value: 'a' });
  });

  it('refuses strings that do not form valid ids', () => {
    expect(() => parseContainerId('')).toThrow(/must not be empty/);
    expect(() => parseContainerId('a..b')).toThrow(/must not be empty/);
    expect(() => parseContainerId('a/b')).toThrow(InvalidContainerIdError);
  });
});
