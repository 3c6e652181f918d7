import { readFileSync } from 'node:fs';

/** A user as the host's files describe it, with the groups initgroups(3) would give it. */
export interface HostUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  /** The primary group, then every group that lists the user as a member, without repeats. */
  readonly groups: readonly number[];
}

/** Where users and groups are looked up; tests point it at files of their own. */
export interface UserFiles {
  readonly passwd: string;
  readonly group: string;
}

export const HOST_USER_FILES: UserFiles = { passwd: '/etc/passwd', group: '/etc/group' };

function records(file: string): string[][] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

function id(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * Looks `name` up in the passwd and group files, as getpwnam(3) and getgrouplist(3) do with
 * the `files` NSS source. Read on every call, so edits to /etc apply to the next launch; the
 * files are a few kilobytes. Users only another NSS source (LDAP, sssd) knows are not found.
 */
export function lookUpUser(name: string, files: UserFiles = HOST_USER_FILES): HostUser | undefined {
  const entry = records(files.passwd).find((fields) => fields[0] === name);
  const uid = id(entry?.[2]);
  const gid = id(entry?.[3]);
  if (!entry || uid === undefined || gid === undefined) return undefined;
  const groups = new Set([gid]);
  for (const fields of records(files.group)) {
    const groupId = id(fields[2]);
    if (groupId !== undefined && (fields[3] ?? '').split(',').includes(name)) groups.add(groupId);
  }
  return { name, uid, gid, home: entry[5] ?? '/', groups: [...groups] };
}

/** The name of `uid` in the passwd file, or undefined. */
export function userNameOf(uid: number, files: UserFiles = HOST_USER_FILES): string | undefined {
  return records(files.passwd).find((fields) => id(fields[2]) === uid)?.[0];
}
