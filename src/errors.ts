import { getSystemErrorMap } from 'node:util';

/**
 * A usage mistake by the person at the keyboard: bad flag, bad value, a
 * device that does not exist. The CLI prints the message as one line and
 * exits 2.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Input that cannot be processed (a malformed trace line, an unreadable
 * file). Printed as one line; exit code 2 because the input is at fault.
 */
export class InputError extends Error {
  override name = 'InputError';
}

/** Names of the ethtool sub-commands the addon issues, for error messages. */
export type EthtoolOp = 'ETHTOOL_GDRVINFO' | 'ETHTOOL_GSSET_INFO' | 'ETHTOOL_GSTRINGS' | 'ETHTOOL_GSTATS' | 'socket';

/**
 * A failed SIOCETHTOOL call, shaped like Node's own system errors
 * (fs, net): `code` is the libuv name, `errno` is negative, `syscall` is
 * 'ioctl'. `device` names the interface. Note that libuv names errno 95
 * ENOTSUP where glibc says EOPNOTSUPP; we follow Node.
 */
export class EthtoolError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly device: string;
  readonly op: EthtoolOp;

  constructor(errno: number, device: string, op: EthtoolOp) {
    const positive = Math.abs(errno);
    const [code, description] = describeErrno(positive);
    super(`${op} on ${device}: ${code} (${description})`);
    this.code = code;
    this.errno = -positive;
    this.syscall = op === 'socket' ? 'socket' : 'ioctl';
    this.device = device;
    this.op = op;
    Object.defineProperty(this, 'name', { value: 'EthtoolError', enumerable: false });
  }
}

let errnoMap: Map<number, [string, string]> | undefined;

/** [code, description] for a positive errno, using Node's (libuv's) names. */
export function describeErrno(errno: number): [string, string] {
  errnoMap ??= getSystemErrorMap();
  return errnoMap.get(-Math.abs(errno)) ?? [`E${errno}`, `errno ${errno}`];
}

/** The libuv code name for a positive errno ("ENODEV"). */
export function errnoCode(errno: number): string {
  return describeErrno(errno)[0];
}

/** One line for the user: the message alone for errors we expect, never a stack. */
export function oneLine(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err).split('\n')[0] ?? '';
}
