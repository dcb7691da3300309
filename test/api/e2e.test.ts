/**
 * End to end: `otwatch analyze` fills a store, `otwatch token create` and `otwatch user add` make
 * credentials, `otwatch serve`'s own start path listens on loopback over HTTPS with a throwaway
 * certificate (openssl), and a client reads findings, logs in and triages over TLS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCommand } from '../../cli/analyze.js';
import { UsageError } from '../../cli/errors.js';
import { parseServeArgs, startServer, type RunningServer } from '../../cli/serve.js';
import { tokenCommand } from '../../cli/token.js';
import { userCommand } from '../../cli/user.js';
import { memIo } from '../analyzers/helpers.js';
import { SAMPLE } from './helpers.js';

let dir: string;
let db: string;
let cert: Buffer;
let server: RunningServer;
let base: URL;

async function cli(fn: (argv: string[], io: ReturnType<typeof memIo>['io']) => Promise<number>, argv: string[], env: Record<string, string> = {}, stdin?: string) {
  const m = memIo();
  m.io.env = env;
  if (stdin !== undefined) {
    const s = new PassThrough();
    s.end(stdin);
    m.io.stdin = s;
  }
  let code: number;
  try {
    code = await fn(argv, m.io);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    m.io.stderr.write(e.message);
    code = 2;
  }
  return { code, out: m.out(), err: m.err() };
}

function https(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: unknown }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { host: base.hostname, port: base.port, path, method, ca: cert, servername: 'localhost', headers: { ...headers, ...(data ? { 'content-type': 'application/json' } : {}) } },
      (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (s += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: s ? (JSON.parse(s) as unknown) : null }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'otw-e2e-'));
  db = join(dir, 'store.db');
  const m = memIo();
  expect(await analyzeCommand([SAMPLE, '--db', db, '--format', 'ndjson'], m.io)).toBeLessThan(2);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'cert.pem'));
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('otwatch token / user', () => {
  it('creates, lists and revokes tokens; refuses bad roles', async () => {
    const c = await cli(tokenCommand, ['create', '--db', db, '--role', 'auditor', '--name', 'soc']);
    expect(c.code).toBe(0);
    expect(c.out.trim()).toMatch(/^otw_[A-Za-z0-9_-]{43}$/);
    const l = await cli(tokenCommand, ['list', '--db', db, '--json']);
    const list = JSON.parse(l.out) as { name: string; role: string; revoked: string | null }[];
    expect(list).toEqual([expect.objectContaining({ name: 'soc', role: 'auditor', revoked: null })]);
    expect(l.out).not.toContain(c.out.trim());
    expect((await cli(tokenCommand, ['revoke', '--db', db, '--name', 'soc'])).code).toBe(0);
    expect((await cli(tokenCommand, ['revoke', '--db', db, '--name', 'soc'])).code).toBe(2);
    const bad = await cli(tokenCommand, ['create', '--db', db, '--role', 'root', '--name', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--role/);
  });

  it('adds users with a password from the environment or stdin, changes and removes them', async () => {
    expect((await cli(userCommand, ['add', 'carol', '--db', db, '--role', 'admin'], { OTWATCH_PASSWORD: 'carol-secret-pass' })).code).toBe(0);
    expect((await cli(userCommand, ['add', 'dave', '--db', db, '--role', 'viewer'], {}, 'dave-secret-pass\n')).code).toBe(0);
    const short = await cli(userCommand, ['add', 'eve', '--db', db, '--role', 'viewer'], { OTWATCH_PASSWORD: 'short' });
    expect(short.code).toBe(2);
    expect(short.err).toMatch(/12 characters/);
    expect((await cli(userCommand, ['add', 'carol', '--db', db, '--role', 'admin'], { OTWATCH_PASSWORD: 'carol-secret-pass' })).code).toBe(2);
    expect((await cli(userCommand, ['passwd', 'dave', '--db', db], { OTWATCH_PASSWORD: 'dave-new-password' })).code).toBe(0);
    expect((await cli(userCommand, ['list', '--db', db])).out).toMatch(/^carol\tadmin/m);
    expect((await cli(userCommand, ['remove', 'dave', '--db', db])).code).toBe(0);
    expect((await cli(userCommand, ['list', '--db', db])).out).not.toMatch(/dave/);
  });
});

describe('otwatch serve', () => {
  it('refuses plain HTTP off loopback, bad listen addresses and half TLS options', () => {
    expect(() => parseServeArgs(['--db', db, '--listen', '0.0.0.0:8443'])).toThrow(/--insecure-http/);
    expect(parseServeArgs(['--db', db, '--listen', '0.0.0.0:8443', '--insecure-http'])).toMatchObject({ host: '0.0.0.0', insecureHttp: true });
    expect(parseServeArgs(['--db', db, '--listen', '[::1]:9000'])).toMatchObject({ host: '::1', port: 9000 });
    expect(() => parseServeArgs(['--db', db, '--listen', 'nohost'])).toThrow(/HOST:PORT/);
    expect(() => parseServeArgs(['--db', db, '--tls-cert', join(dir, 'cert.pem')])).toThrow(/go together/);
    expect(() => parseServeArgs(['--listen', '127.0.0.1:1'])).toThrow(/--db/);
    expect(() => parseServeArgs(['--db', db, '--tls-cert', join(dir, 'none.pem'), '--tls-key', join(dir, 'none.pem')])).toThrow(/ENOENT/);
  });

  it('serves over HTTPS on loopback: token reads, login, CSRF-protected triage, audit', async () => {
    const o = parseServeArgs(['--db', db, '--listen', '127.0.0.1:0', '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')]);
    if (o === 'help') throw new Error('unexpected help');
    server = await startServer(o, false);
    base = new URL(server.url);
    expect(base.protocol).toBe('https:');
    const token = (await cli(tokenCommand, ['create', '--db', db, '--role', 'analyst', '--name', 'e2e'])).out.trim();
    const auth = { authorization: `Bearer ${token}` };

    expect((await https('GET', '/api/v1/findings')).status).toBe(401);
    const list = await https('GET', '/api/v1/findings?limit=2', auth);
    expect(list.status).toBe(200);
    const page = list.json as { items: { id: string }[]; next: string | null };
    expect(page.items).toHaveLength(2);
    expect(list.headers['strict-transport-security']).toBeDefined();

    const login = await https('POST', '/api/v1/login', {}, { user: 'carol', password: 'carol-secret-pass' });
    expect(login.status).toBe(200);
    const csrf = (login.json as { csrfToken: string }).csrfToken;
    const cookie = [login.headers['set-cookie'] ?? []].flat().map((c) => c.split(';')[0]).join('; ');
    const id = page.items[0].id;
    const refused = await https('POST', `/api/v1/findings/${id}/triage`, { cookie }, { action: 'resolve' });
    expect(refused.status).toBe(403);
    const done = await https('POST', `/api/v1/findings/${id}/triage`, { cookie, 'x-csrf-token': csrf }, { action: 'resolve', comment: 'patched' });
    expect(done.status).toBe(201);
    const one = await https('GET', `/api/v1/findings/${id}`, auth);
    expect(one.json).toMatchObject({ status: 'resolved', history: [expect.objectContaining({ actor: 'user:carol', action: 'resolve', comment: 'patched' })] });

    const audit = await https('GET', '/api/v1/audit?limit=100', { cookie });
    const actions = (audit.json as { items: { actor: string; action: string; outcome: string }[] }).items.map((i) => `${i.actor} ${i.action} ${i.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(['user:carol login ok', 'user:carol POST /api/v1/findings/:id/triage ok', 'user:carol POST /api/v1/findings/:id/triage denied']));
    expect(actions.some((a) => /^cli:.* token create ok$/.test(a))).toBe(true);
  });
});
