import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

/**
 * A tiny loopback HTTP server for provider fakes. Each fake declares its routes and its provider's
 * way of saying "bad key" and "error"; the harness adds the switchable faults, counting and
 * expiring result links, so our real client code runs unmodified against it through the base URL.
 */

export type RouteKind = 'submit' | 'poll' | 'result' | 'download' | 'verify' | 'upload' | 'other';

export type Fault =
  | { kind: 'rate_limit'; retryAfter?: string }
  | { kind: 'server_error' }
  | { kind: 'malformed' }
  | { kind: 'slow'; ms: number }
  | { kind: 'drop' }
  /** Provider-specific; the fake's own handler consumes it where that provider refuses content. */
  | { kind: 'moderation' };

export interface FakeRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** One header's value (the first, if repeated). */
  header(name: string): string | undefined;
  json(): unknown;
  form(): Promise<FormData>;
}

export interface FakeResponse {
  status?: number;
  headers?: Record<string, string>;
  json?: unknown;
  body?: Buffer | Uint8Array | string;
}

export interface Route {
  method: string;
  path: RegExp;
  kind: RouteKind;
  /** Whether the provider checks the key on this route (signed download links do not). */
  auth?: boolean;
  handle(req: FakeRequest, match: RegExpMatchArray): FakeResponse | Promise<FakeResponse>;
}

export interface FakeProviderShape {
  /** Checks the credential exactly as the real API does (header name and scheme). */
  authorize(req: FakeRequest): boolean;
  unauthorized(req: FakeRequest): FakeResponse;
  /** The provider's error body for a status. */
  error(status: number, message: string): FakeResponse;
}

const pngCache = new Map<string, Buffer>();

/** A small real PNG, so the client's format checks see real bytes. */
export async function png(width = 8, height = 8, background = '#3366cc'): Promise<Buffer> {
  const key = `${width}x${height}:${background}`;
  let cached = pngCache.get(key);
  if (!cached) {
    cached = await sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();
    pngCache.set(key, cached);
  }
  return cached;
}

interface IssuedFile {
  bytes: Uint8Array;
  mime: string;
  expiresAt: number;
  usesLeft: number;
}

export class FakeServer {
  readonly counts: Record<RouteKind, number> = { submit: 0, poll: 0, result: 0, download: 0, verify: 0, upload: 0, other: 0 };
  readonly requests: FakeRequest[] = [];
  private readonly faults: Array<{ on: RouteKind; fault: Fault; times: number }> = [];
  private readonly files = new Map<string, IssuedFile>();
  private readonly server: http.Server;
  private readonly routes: Route[] = [];
  private base = '';

  constructor(
    private readonly shape: FakeProviderShape,
    /** Prefix the fake mounts under, e.g. `/v1` for OpenAI's base URL. */
    private readonly prefix = '',
  ) {
    this.server = http.createServer((req, res) => void this.dispatch(req, res));
  }

  get url(): string {
    return `${this.base}${this.prefix}`;
  }

  get origin(): string {
    return this.base;
  }

  route(route: Route): this {
    this.routes.push(route);
    return this;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address: AddressInfo | string | null = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('fake server has no TCP address');
    this.base = `http://127.0.0.1:${address.port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Makes the next `times` requests of a kind fail this way. */
  inject(on: RouteKind, fault: Fault, times = 1): this {
    this.faults.push({ on, fault, times });
    return this;
  }

  clearFaults(): this {
    this.faults.length = 0;
    return this;
  }

  /** For provider-specific faults (moderation) that the fake's handler acts out itself. */
  consume(on: RouteKind, kind: Fault['kind']): boolean {
    const index = this.faults.findIndex((f) => f.on === on && f.fault.kind === kind && f.times > 0);
    if (index < 0) return false;
    const entry = this.faults[index];
    if (entry) entry.times -= 1;
    return true;
  }

  /** A signed result link that works `uses` times within `ttlMs`, like the real expiring URLs. */
  issueFile(bytes: Uint8Array, mime = 'image/png', { ttlMs = 5_000, uses = 1 } = {}): string {
    const token = randomUUID();
    this.files.set(token, { bytes, mime, expiresAt: Date.now() + ttlMs, usesLeft: uses });
    return `${this.base}/files/${token}?signature=${randomUUID()}`;
  }

  private takeFault(kind: RouteKind): Fault | undefined {
    const entry = this.faults.find((f) => f.on === kind && f.times > 0 && f.fault.kind !== 'moderation');
    if (!entry) return undefined;
    entry.times -= 1;
    return entry.fault;
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(Buffer.from(chunk));
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', this.base);
    const fake: FakeRequest = {
      method: req.method ?? 'GET',
      url,
      headers: req.headers,
      body,
      header: (name) => {
        const value = req.headers[name.toLowerCase()];
        return Array.isArray(value) ? value[0] : value;
      },
      json: (): unknown => JSON.parse(body.toString('utf8')),
      form: () => new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData(),
    };
    this.requests.push(fake);
    const answer = await this.answer(fake, res);
    if (answer === 'dropped') return;
    const headers: Record<string, string> = { ...answer.headers };
    let payload: Buffer;
    if (answer.json !== undefined) {
      payload = Buffer.from(JSON.stringify(answer.json));
      headers['content-type'] ??= 'application/json';
    } else {
      payload = answer.body === undefined ? Buffer.alloc(0) : Buffer.from(answer.body);
    }
    res.writeHead(answer.status ?? 200, headers);
    res.end(payload);
  }

  private async answer(req: FakeRequest, res: http.ServerResponse): Promise<FakeResponse | 'dropped'> {
    if (req.url.pathname.startsWith('/files/')) return this.serveFile(req, res);
    const path = req.url.pathname.startsWith(this.prefix) ? req.url.pathname.slice(this.prefix.length) : req.url.pathname;
    for (const route of this.routes) {
      const match = req.method === route.method ? path.match(route.path) : null;
      if (!match) continue;
      this.counts[route.kind] += 1;
      if (route.auth !== false && !this.shape.authorize(req)) return this.shape.unauthorized(req);
      const fault = this.takeFault(route.kind);
      if (fault) {
        const faulted = await this.applyFault(fault, res);
        if (faulted !== undefined) return faulted;
      }
      return route.handle(req, match);
    }
    return this.shape.error(404, `no route for ${req.method} ${req.url.pathname}`);
  }

  private serveFile(req: FakeRequest, res: http.ServerResponse): FakeResponse | 'dropped' {
    this.counts.download += 1;
    const fault = this.takeFault('download');
    if (fault?.kind === 'drop') {
      res.socket?.destroy();
      return 'dropped';
    }
    if (fault?.kind === 'server_error') return { status: 500, body: 'upstream error' };
    const token = req.url.pathname.slice('/files/'.length);
    const file = this.files.get(token);
    if (!file || file.usesLeft <= 0 || Date.now() > file.expiresAt) {
      return { status: 403, headers: { 'content-type': 'application/xml' }, body: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>' };
    }
    file.usesLeft -= 1;
    return { status: 200, headers: { 'content-type': file.mime }, body: file.bytes };
  }

  private async applyFault(fault: Fault, res: http.ServerResponse): Promise<FakeResponse | 'dropped' | undefined> {
    switch (fault.kind) {
      case 'rate_limit': {
        const answer = this.shape.error(429, 'Rate limit reached for requests');
        return { ...answer, headers: { ...answer.headers, ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}) } };
      }
      case 'server_error':
        return this.shape.error(500, 'The server had an error while processing your request.');
      case 'malformed':
        return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"data": [{"b64_json": ' };
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        return undefined;
      case 'drop':
        res.socket?.destroy();
        return 'dropped';
      case 'moderation':
        return undefined;
    }
  }
}

export function bearerToken(req: FakeRequest): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
}
