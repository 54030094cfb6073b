/**
 * Where announcements go: each IPv4 interface's own subnet broadcast address.
 * 255.255.255.255 is not used: without a default route the kernel refuses it
 * (checked between network namespaces on a bridge), and per-interface sends
 * reach every attached LAN. Pure: takes what os.networkInterfaces() returns.
 */
import type { NetworkInterfaceInfo } from 'node:os';

/** The subnet broadcast addresses of the up, non-loopback IPv4 interfaces, sorted, each once. */
export function broadcastTargets(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const out = new Set<string>();
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      if (info.family !== 'IPv4' || info.internal) continue;
      const address = ipv4ToInt(info.address);
      const mask = ipv4ToInt(info.netmask);
      // A /32 or /31 has no broadcast address (point-to-point links, VPN tunnels).
      if (address === undefined || mask === undefined || mask >>> 0 >= 0xfffffffe) continue;
      out.add(intToIpv4((address | ~mask) >>> 0));
    }
  }
  return [...out].sort();
}

function ipv4ToInt(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** This machine's own non-loopback IPv4 addresses, sorted: what a change of address changes. */
export function ipv4Addresses(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const out = new Set<string>();
  for (const infos of Object.values(interfaces)) for (const info of infos ?? []) if (info.family === 'IPv4' && !info.internal) out.add(info.address);
  return [...out].sort();
}
