/**
 * node-opcua's own log lines stay out of our stdout. Loading node-opcua starts an asynchronous
 * self-test that, on Node 20 (which refuses RSA PKCS#1 v1.5 decryption, CVE-2023-46809), prints
 * `[NODE-OPCUA-W27] …` with console.log: it used to land in the middle of `otwatch appliance
 * --help` and `otwatch pki --help`, and of every `npm start`. Runs the built command (as
 * test/api/workers.test.ts does) because the lines are written to the real process stdout.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAIN = resolve(import.meta.dirname, '../../dist/cli/main.js');
/** Node 20 is where the self-test fails and warns; 22 and later skip it (node-opcua's verify_pcks1). */
const WARNS = Number(process.versions.node.split('.')[0]) === 20;

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string; err: string }> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does)`);
  const childEnv = { ...process.env, ...env };
  if (!('OTWATCH_PKI_DEBUG' in env)) delete childEnv.OTWATCH_PKI_DEBUG;
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [MAIN, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', fail);
    // The process lives until node-opcua's self-test (a 4096-bit key generation) has finished,
    // so whatever it prints is in the output by the time it closes.
    p.on('close', (code) => done({ code, out, err }));
  });
}

describe('node-opcua log lines', () => {
  it('appliance --help prints only its usage (node-opcua is not even loaded)', async () => {
    const r = await run(['appliance', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: otwatch appliance/);
    expect(r.out + r.err).not.toMatch(/NODE-OPCUA/);
  }, 60_000);

  it('pki --help loads node-opcua and still prints only its usage', async () => {
    const r = await run(['pki', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/pki/);
    expect(r.out).not.toMatch(/NODE-OPCUA/);
    expect(r.err).not.toMatch(/NODE-OPCUA/);
  }, 60_000);

  it('OTWATCH_PKI_DEBUG=1 shows them, on stderr', async () => {
    const r = await run(['pki', '--help'], { OTWATCH_PKI_DEBUG: '1' });
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/NODE-OPCUA/);
    if (WARNS) expect(r.err).toMatch(/NODE-OPCUA-W27/);
  }, 60_000);
});
