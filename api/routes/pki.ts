/**
 * PKI through its public CLI entry (pki/cli.ts): status (auditor); revoke, sign, push and rotate
 * (admin). Push and rotate talk to OPC UA servers with the push user's password from the serving
 * process's environment (OTWATCH_PKI_PUSH_PASSWORD): a password never travels in a request.
 * They answer when the servers have (up to a few seconds per server).
 */
import type { FastifyInstance } from 'fastify';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
// The PKI's commands pull in node-forge and node-opcua (seconds of start-up): loaded on first use.
import { isPkiError } from '../../pki/errors.js';
import { PROFILES } from '../../pki/options.js';
import { errors } from '../schemas.js';

async function pki(ctx: AppContext, args: string[]): Promise<string> {
  if (!ctx.opts.pkiDir) throw new ApiError('OTW_ERR_PKI_UNAVAILABLE');
  let out = '';
  let err = '';
  const stdout = new Writable({ write: (d: Buffer, _e, cb) => ((out += d.toString()), cb()) });
  const stderr = new Writable({ write: (d: Buffer, _e, cb) => ((err += d.toString()), cb()) });
  let code: number;
  try {
    const { runPki } = await import('../../pki/cli.js');
    code = await runPki([args[0], '--dir', ctx.opts.pkiDir, ...args.slice(1)], { stdout, stderr, env: ctx.opts.pkiEnv });
  } catch (e) {
    if (isPkiError(e)) throw new ApiError('OTW_ERR_PKI', (e as Error).message.split('\n')[0]);
    throw e;
  }
  if (code !== 0) throw new ApiError('OTW_ERR_PKI', (err.trim().split('\n')[0] || `pki ${args[0]} failed`).slice(0, 500));
  return out;
}

export async function pkiRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get(
    '/pki/status',
    {
      config: { role: 'auditor' },
      schema: { tags: ['pki'], summary: 'PKI status: CA, certificates with expiry and rotation state, CRLs (otwatch pki status --json)', response: { 200: { type: 'object', additionalProperties: true }, ...errors(422, 503) } },
    },
    async () => {
      const out = await pki(ctx, ['status', '--json']);
      try {
        return JSON.parse(out) as Record<string, unknown>;
      } catch {
        throw new ApiError('OTW_ERR_PKI', 'pki status did not answer JSON');
      }
    },
  );

  app.post<{ Body: { serial: string; reason?: string } }>(
    '/pki/revoke',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['pki'],
        summary: 'Revoke a certificate of the plant CA by serial (the CRL is regenerated)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['serial'],
          properties: { serial: { type: 'string', pattern: '^[0-9A-Fa-f]{1,64}$' }, reason: { type: 'string', pattern: '^[A-Za-z]{1,40}$' } },
        },
        response: { 200: { type: 'object', properties: { serial: { type: 'string' }, output: { type: 'string' } } }, ...errors(422, 503) },
      },
    },
    async (req) => {
      const args = ['revoke', '--serial', req.body.serial];
      if (req.body.reason) args.push('--reason', req.body.reason);
      const out = await pki(ctx, args);
      return { serial: req.body.serial, output: out.trim() };
    },
  );

  app.post<{ Body: { csr: string; appUri: string; profile?: string; days?: number } }>(
    '/pki/sign',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['pki'],
        summary: 'Sign a certificate signing request (PEM) with the plant CA: the private key never leaves its owner (otwatch pki sign)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['csr', 'appUri'],
          properties: {
            csr: { type: 'string', minLength: 64, maxLength: 16384, pattern: '^-----BEGIN (NEW )?CERTIFICATE REQUEST-----' },
            appUri: { type: 'string', minLength: 4, maxLength: 512, pattern: '^[A-Za-z][A-Za-z0-9+.-]*:[^\\s]+$' },
            profile: { type: 'string', enum: Object.keys(PROFILES) },
            days: { type: 'integer', minimum: 1, maximum: 3650 },
          },
        },
        response: { 201: { type: 'object', properties: { certificate: { type: 'string', description: 'PEM' }, output: { type: 'string' } } }, ...errors(422, 503) },
      },
    },
    async (req, reply) => {
      if (!ctx.opts.pkiDir) throw new ApiError('OTW_ERR_PKI_UNAVAILABLE');
      const tmp = await mkdtemp(join(tmpdir(), 'otw-sign-'));
      try {
        await writeFile(join(tmp, 'req.csr'), req.body.csr, { mode: 0o600 });
        const args = ['sign', '--csr', join(tmp, 'req.csr'), '--app-uri', req.body.appUri, '--out', join(tmp, 'cert.der')];
        if (req.body.profile) args.push('--profile', req.body.profile);
        if (req.body.days) args.push('--days', String(req.body.days));
        const out = await pki(ctx, args);
        const der = await readFile(join(tmp, 'cert.der'));
        const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
        return reply.code(201).send({ certificate: `-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`, output: out.trim() });
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    },
  );

  const endpointPattern = '^opc\\.tcp://[^/\\s]+:\\d{1,5}(/\\S*)?$';
  const appUriProp = { type: 'string', minLength: 4, maxLength: 512, pattern: '^[A-Za-z][A-Za-z0-9+.-]*:[^\\s]+$' } as const;
  const userProp = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\s]+$', description: 'an OPC UA user with the SecurityAdmin role; the password is the server-side OTWATCH_PKI_PUSH_PASSWORD' } as const;
  const lines = (out: string) => out.split('\n').filter((l) => l.trim() !== '');

  app.post<{ Body: { endpoint: string; appUri: string; user?: string; serverThumbprint?: string; days?: number; profile?: string; applyChanges?: boolean; dryRun?: boolean } }>(
    '/pki/push',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['pki'],
        summary: 'Push a new certificate to an OPC UA server (push certificate management: CreateSigningRequest, UpdateCertificate, ApplyChanges, then a check that the server presents it); dryRun answers the plan (otwatch pki push)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['endpoint', 'appUri'],
          properties: {
            endpoint: { type: 'string', maxLength: 512, pattern: endpointPattern },
            appUri: appUriProp,
            user: userProp,
            serverThumbprint: { type: 'string', pattern: '^[0-9A-Fa-f]{40}$' },
            days: { type: 'integer', minimum: 1, maximum: 3650 },
            profile: { type: 'string', enum: Object.keys(PROFILES) },
            applyChanges: { type: 'boolean', default: true },
            dryRun: { type: 'boolean', default: false },
          },
        },
        response: { 200: { type: 'object', properties: { endpoint: { type: 'string' }, appUri: { type: 'string' }, dryRun: { type: 'boolean' }, output: { type: 'array', items: { type: 'string' } } } }, ...errors(422, 503) },
      },
    },
    async (req) => {
      const b = req.body;
      if (!b.dryRun && !b.user) throw new ApiError('OTW_ERR_VALIDATION', 'body.user is required unless dryRun (a user with the SecurityAdmin role)', 'body.user');
      const args = ['push', '--endpoint', b.endpoint, '--app-uri', b.appUri];
      if (b.user) args.push('--user', b.user);
      if (b.serverThumbprint) args.push('--server-thumbprint', b.serverThumbprint);
      if (b.days) args.push('--days', String(b.days));
      if (b.profile) args.push('--profile', b.profile);
      if (b.applyChanges === false) args.push('--skip-apply-changes');
      if (b.dryRun) args.push('--dry-run');
      return { endpoint: b.endpoint, appUri: b.appUri, dryRun: b.dryRun === true, output: lines(await pki(ctx, args)) };
    },
  );

  app.post<{ Body: { appUri?: string; force?: boolean; rotateFraction?: number; user?: string; concurrency?: number; applyChanges?: boolean } }>(
    '/pki/rotate',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['pki'],
        summary: 'Rotate the certificates past their rotation point (or one application, or all with force): re-issued, and pushed again to the servers they were pushed to (otwatch pki rotate)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            appUri: appUriProp,
            force: { type: 'boolean', default: false },
            rotateFraction: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
            user: userProp,
            concurrency: { type: 'integer', minimum: 1, maximum: 64 },
            applyChanges: { type: 'boolean', default: true },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              rotated: { type: 'array', items: { type: 'object', properties: { action: { type: 'string' }, appUri: { type: 'string' }, oldSerial: { type: 'string' }, newSerial: { type: ['string', 'null'] } } } },
              output: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errors(422, 503),
        },
      },
    },
    async (req) => {
      const b = req.body ?? {};
      const args = ['rotate'];
      if (b.appUri) args.push('--app-uri', b.appUri);
      if (b.force) args.push('--force');
      if (b.rotateFraction !== undefined) args.push('--rotate-fraction', String(b.rotateFraction));
      if (b.user) args.push('--user', b.user);
      if (b.concurrency) args.push('--concurrency', String(b.concurrency));
      if (b.applyChanges === false) args.push('--skip-apply-changes');
      const output = lines(await pki(ctx, args));
      // `<action> <appUri> <old serial>[ -> <new serial>]` per certificate (pki/cli.ts rotate).
      const rotated = output.flatMap((l) => {
        const m = /^(\S+) (\S+) ([0-9a-f]+)(?: -> ([0-9a-f]+))?$/.exec(l);
        return m ? [{ action: m[1], appUri: m[2], oldSerial: m[3], newSerial: m[4] ?? null }] : [];
      });
      return { rotated, output };
    },
  );
}
