import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ErrorCode } from '../contract/errors.js';
import type { Core } from '../core/core.js';
import { CONTENT_SECURITY_POLICY } from '../core/security.js';
import { serveStatic } from './static-files.js';

export interface WebHostOptions {
  core: Core;
  rendererDir: string;
  port?: number;
  /** Fixed token for tests; a fresh random one otherwise. */
  token?: string;
}

export interface WebHost {
  url: string;
  port: number;
  close(): Promise<void>;
}

const COOKIE = 'imagebench_token';
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const LOOPBACK = '127.0.0.1';


const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  invalid_input: 400,
  unauthorized: 401,
  not_found: 404,
  internal: 500,
};

/**
 * Web mode: the renderer and the contract over HTTP + server-sent events,
 * on loopback only. Every request needs the token: as a Bearer header
 * (scripts), or the cookie the page gets when opened with `?token=`.
 */
export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const token = options.token ?? crypto.randomBytes(24).toString('base64url');
  const server = http.createServer();
  const clients = new Set<http.ServerResponse>();
  let port = 0;

  const unsubscribe = options.core.events.onAny((event, payload) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const res of clients) res.write(frame);
  });

  server.on('request', (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // Never echo internals to the client; the server log gets the detail.
      console.error('[imagebench serve] request failed:', error instanceof Error ? error.message : error);
      if (!res.headersSent) send(res, 500, 'text/plain', 'Internal error');
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK}`);
    if (!hostAllowed(req.headers.host, port)) return send(res, 421, 'text/plain', 'Misdirected request');

    const fromQuery = url.searchParams.get('token');
    if (req.method === 'GET' && fromQuery !== null && !url.pathname.startsWith('/api/')) {
      if (!tokensMatch(fromQuery, token)) return unauthorized(res);
      // Trade the URL token for a cookie and drop it from the address bar and history.
      res.setHeader('Set-Cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      res.setHeader('Location', url.pathname);
      return send(res, 303, 'text/plain', 'See other');
    }
    if (!tokensMatch(presentedToken(req), token)) return unauthorized(res);

    if (url.pathname === '/api/events' && req.method === 'GET') return openEventStream(res);
    if (url.pathname.startsWith('/api/call/')) {
      if (req.method !== 'POST') return send(res, 405, 'text/plain', 'Use POST');
      if (!originAllowed(req.headers.origin, port)) return send(res, 403, 'text/plain', 'Cross-origin request refused');
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return send(res, 415, 'text/plain', 'Send application/json');
      }
      const name = decodeURIComponent(url.pathname.slice('/api/call/'.length));
      const body = await readJson(req);
      if (body === undefined) return send(res, 400, 'application/json', JSON.stringify({ ok: false, error: { code: 'invalid_input', message: 'The request body is not JSON.', retryable: false } }));
      const result = await options.core.dispatcher.dispatch(name, body);
      const status = result.ok ? 200 : (STATUS_BY_CODE[result.error.code] ?? 422);
      return send(res, status, 'application/json', JSON.stringify(result));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'Method not allowed');
    return serveStatic(options.rendererDir, url.pathname, res, securityHeaders);
  }

  function openEventStream(res: http.ServerResponse): void {
    res.writeHead(200, { ...securityHeaders, 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write(': connected\n\n');
    clients.add(res);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    res.on('close', () => {
      clearInterval(heartbeat);
      clients.delete(res);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK, () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://${LOOPBACK}:${port}/?token=${token}`,
    port,
    close: async () => {
      unsubscribe();
      for (const res of clients) res.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const securityHeaders: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...securityHeaders, 'Content-Type': `${type}; charset=utf-8`, 'Cache-Control': 'no-store' });
  res.end(body);
}

function unauthorized(res: http.ServerResponse): void {
  send(res, 401, 'text/plain', 'Unauthorized: open the address printed by `imagebench serve`; it carries the access token.');
}

function presentedToken(req: http.IncomingMessage): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return rest.join('=');
  }
  return null;
}

function tokensMatch(presented: string | null, expected: string): boolean {
  if (presented === null) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Guards against DNS rebinding: a page on another name that resolves to 127.0.0.1 is refused. */
function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `${LOOPBACK}:${port}` || host === `localhost:${port}`;
}

function originAllowed(origin: string | undefined, port: number): boolean {
  return origin === undefined || origin === `http://${LOOPBACK}:${port}` || origin === `http://localhost:${port}`;
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
  } catch {
    return undefined;
  }
}

export function defaultRendererDir(root: string): string {
  return path.join(root, 'dist', 'renderer');
}

export function rendererBuilt(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'index.html'));
}
