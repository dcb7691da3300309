/** PKI through its public CLI entry (pki/index.ts): status (auditor) and revoke (admin). */
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
}
