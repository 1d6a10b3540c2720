// Who may talk to the dashboard. Two checks on every request:
// - the Host header must name the address served (a DNS-rebinding page,
//   whose own host name resolves to 127.0.0.1, sends its own name and is
//   refused);
// - beyond loopback, a token: the query parameter `token` (the printed URL
//   carries it), an `Authorization: Bearer` header, or the cookie that a
//   page request with a valid query token sets (so that the page's script,
//   modules and event streams need no token in their URLs).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Whether binding to this host serves only this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

const bracketed = (address: string) => (isIP(address) === 6 ? `[${address}]` : address);

/**
 * The Host header values accepted for a server bound to `boundHost` on
 * `port`: the loopback names when bound to loopback, else the bound host
 * (for a wildcard bind, 0.0.0.0 or ::, every address of this machine and
 * its host name, since clients may reach it through any of them).
 */
export function allowedHosts(boundHost: string, port: number): Set<string> {
  const bare = boundHost.replace(/^\[|\]$/g, '');
  let names: string[];
  if (isLoopbackHost(bare)) names = [...LOOPBACK_NAMES, bracketed(bare)];
  else if (bare === '0.0.0.0' || bare === '::') {
    const addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => bracketed(i.address)));
    names = [...LOOPBACK_NAMES, bracketed(bare), hostname(), ...addresses];
  } else names = [bracketed(bare)];
  const hosts = new Set<string>();
  for (const name of names) {
    hosts.add(`${name.toLowerCase()}:${port}`);
    // Browsers leave the default port out of Host.
    if (port === 80) hosts.add(name.toLowerCase());
  }
  return hosts;
}

/** A fresh token for a dashboard shared beyond loopback (192 random bits). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The cookie a page request with the right query token sets; named per port so that two dashboards on one host do not clash. */
export const tokenCookieName = (port: number) => `tsnas-dashboard-${port}`;

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** How a request proved the token: by its query (the page then sets the cookie), a header or the cookie; null when it did not. */
export function tokenProof(req: IncomingMessage, url: URL, token: string, port: number): 'query' | 'header' | 'cookie' | null {
  if (sameToken(url.searchParams.get('token') ?? undefined, token)) return 'query';
  const authorization = req.headers.authorization;
  if (authorization?.startsWith('Bearer ') && sameToken(authorization.slice(7).trim(), token)) return 'header';
  if (sameToken(cookie(req, tokenCookieName(port)), token)) return 'cookie';
  return null;
}
