/**
 * Peer and listen addresses as the user writes them: parsing "host",
 * "host:port", "[v6]" or "[v6]:port", and formatting them back.
 */
import net from 'node:net';
import os from 'node:os';
import { UsageError } from '../core/errors.js';

/** Options for {@link parseHostPort}. */
export interface ParseHostPortOptions {
  /** Accept port 0 ("any free port"), which only makes sense for listening. */
  allowZero?: boolean;
}

const MAX_PORT = 65_535;
const MAX_HOSTNAME_CHARS = 253;
// Dot-separated labels; '_' is allowed because real LAN names use it, though DNS proper does not.
const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

/** "host:port", with IPv6 literals in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses "host", "host:port", "[v6]" or "[v6]:port"; throws a 'USAGE' WizardError on anything else. */
export function parseHostPort(
  s: string,
  defaultPort: number,
  opts: ParseHostPortOptions = {},
): { host: string; port: number } {
  const text = s.trim();
  const match = /^\[([^\]]+)\](?::([^:]*))?$/.exec(text) ?? /^([^:[\]]+)(?::([^:]*))?$/.exec(text);
  const host = match?.[1];
  if (host === undefined || !isValidHost(host, text.startsWith('['))) {
    throw new UsageError(`invalid address "${s}": expected host, host:port or [ipv6]:port`);
  }
  const portText = match?.[2];
  return { host, port: portText === undefined ? defaultPort : parsePort(portText, s, opts) };
}

function isValidHost(host: string, bracketed: boolean): boolean {
  if (bracketed) return net.isIP(host) === 6;
  // A dotted-digit string that is not an IPv4 address is a typo, not a host name.
  if (/^[\d.]+$/.test(host)) return net.isIP(host) === 4;
  return host.length <= MAX_HOSTNAME_CHARS && HOSTNAME.test(host);
}

function parsePort(text: string, original: string, opts: ParseHostPortOptions): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  const min = opts.allowZero ? 0 : 1;
  if (!(port >= min && port <= MAX_PORT)) {
    throw new UsageError(`invalid port in "${original}": expected a number from ${min} to ${MAX_PORT}`);
  }
  return port;
}

/**
 * True when `address` (a socket's remote address) is this machine: a
 * loopback address, or one of `interfaces`' (os.networkInterfaces() by
 * default). A peer there shares our CPU and memory: the link between us is
 * a copy, never slower than the two processes at its ends.
 */
export function isThisMachine(address: string | undefined, interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): boolean {
  if (address === undefined) return false;
  const bare = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  if (bare === '::1' || (net.isIPv4(bare) && bare.startsWith('127.'))) return true;
  return Object.values(interfaces).some((list) => list?.some((i) => i.address === bare || i.address === address) === true);
}
