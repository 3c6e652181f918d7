import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidContainerConfigError } from '@corral/core';
import { afterAll, describe, expect, it } from 'vitest';
import { commandIdentity, noNewPrivilegesFor, type PrivilegeSettings } from './privileges.ts';
import { lookUpUser } from './users.ts';

const dir = mkdtempSync(join(tmpdir(), 'corral-users-'));
const files = { passwd: join(dir, 'passwd'), group: join(dir, 'group') };
writeFileSync(
  files.passwd,
  [
    'root:x:0:0:root:/root:/bin/bash',
    '# a comment',
    'alice:x:1000:1000:Alice:/home/alice:/bin/sh',
    'broken:x:notanumber:1:::',
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    '',
  ].join('\n'),
);
writeFileSync(
  files.group,
  ['root:x:0:', 'alice:x:1000:', 'sudo:x:27:alice,bob', 'docker:x:999:bob,alice', ''].join('\n'),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const settings: PrivilegeSettings = {
  switchUser: true,
  noNewPrivileges: 'required',
  userFiles: files,
};
const asRoot = process.getuid?.() === 0;

describe('lookUpUser', () => {
  it('finds the ids, home and initgroups-style groups of a user', () => {
    expect(lookUpUser('alice', files)).toEqual({
      name: 'alice',
      uid: 1000,
      gid: 1000,
      home: '/home/alice',
      groups: [1000, 27, 999],
    });
    expect(lookUpUser('nobody', files)?.groups).toEqual([65534]);
  });

  it('finds no user that is missing or malformed', () => {
    expect(lookUpUser('bob', files)).toBeUndefined();
    expect(lookUpUser('broken', files)).toBeUndefined();
    expect(lookUpUser('', files)).toBeUndefined();
  });
});

describe('commandIdentity', () => {
  const user = (name: unknown) => ({ command_info: { value: 'true', user: name as string } });

  it("is the agent's own without command.user, with no switch", () => {
    const identity = commandIdentity({ command_info: { value: 'true' } }, settings);
    expect(identity).toMatchObject({ uid: process.getuid?.(), switchUser: false });
    expect(identity.home).toBeUndefined();
  });

  it('resolves a user to switch to when the agent is root, and refuses it otherwise', () => {
    if (!asRoot) {
      expect(() => commandIdentity(user('alice'), settings)).toThrow(/only root can switch users/);
      return;
    }
    expect(commandIdentity(user('alice'), settings)).toEqual({
      user: 'alice',
      uid: 1000,
      gid: 1000,
      home: '/home/alice',
      groups: [1000, 27, 999],
      switchUser: true,
    });
  });

  it.each([
    ['an unknown user', 'bob', settings, /'command.user' is invalid: no user 'bob' in .*passwd/],
    ['a user that is not a string', 42, settings, /42 is not a user name/],
    ['an empty user', '', settings, /"" is not a user name/],
    [
      'another user with --switch_user=false',
      'nobody',
      { ...settings, switchUser: false },
      /cannot run as 'nobody': the agent runs with --switch_user=false/,
    ],
  ])('refuses %s, naming it', (_, name, given, message) => {
    expect(() => commandIdentity(user(name), given)).toThrow(InvalidContainerConfigError);
    expect(() => commandIdentity(user(name), given)).toThrow(message);
  });
});

describe('noNewPrivilegesFor', () => {
  const asking = (value: unknown) => ({
    container_info: { linux_info: { no_new_privileges: value as boolean } },
  });

  it('sets it by default unless the operator disabled it', () => {
    expect(noNewPrivilegesFor({}, 'required')).toBe(true);
    expect(noNewPrivilegesFor({}, 'optional')).toBe(true);
    expect(noNewPrivilegesFor({}, 'disabled')).toBe(false);
    expect(noNewPrivilegesFor(asking(true), 'disabled')).toBe(true);
  });

  it('lets a container opt out only when the operator allows it', () => {
    expect(noNewPrivilegesFor(asking(false), 'optional')).toBe(false);
    expect(() => noNewPrivilegesFor(asking(false), 'required')).toThrow(
      /'container.linux_info.no_new_privileges' is invalid: false is not allowed/,
    );
    expect(() => noNewPrivilegesFor(asking('no'), 'optional')).toThrow(/"no" is not a boolean/);
  });
});
