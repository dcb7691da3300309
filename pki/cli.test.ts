import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runPki } from './cli.js';
import { forge, csrDer } from './forge.js';
import { generateRsaKeyPair, forgePublicKey, forgePrivateKey } from './keys.js';
import { certFacts } from './certinfo.js';
import { tempDir, Sink } from '../test/pki/helpers.js';

const PASS = 'cli-test-passphrase-Zq9';

async function run(argv: string[], env: NodeJS.ProcessEnv = { OTWATCH_PKI_PASSPHRASE: PASS }): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runPki(argv, { stdout: stdout as unknown as NodeJS.WritableStream, stderr: stderr as unknown as NodeJS.WritableStream, env });
  // No command ever prints a secret.
  expect(stdout.text + stderr.text).not.toContain(PASS);
  return { code, out: stdout.text, err: stderr.text };
}

async function makeCsr(uri: string): Promise<Buffer> {
  const kp = await generateRsaKeyPair(2048);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forgePublicKey(kp.publicKey);
  csr.setSubject([{ shortName: 'CN', value: 'plc9' }, { shortName: 'O', value: 'ACME' }]);
  csr.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 6, value: uri }, { type: 2, value: 'plc9.local' }] }] }]);
  csr.sign(forgePrivateKey(kp.privateKey), forge.md.sha256.create());
  return csrDer(csr);
}

describe('otwatch pki CLI', () => {
  let dir: string;
  let pki: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('otw-cli-'));
    pki = join(dir, 'pki');
    const r = await run(['init', '--dir', pki, '--org', 'ACME', '--ca-key-bits', '2048']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });
  afterAll(async () => cleanup());

  it('usage errors: exit 2 with one line naming the reason and a stable code', async () => {
    for (const [argv, code] of [
      [['nope'], 'OTW_ERR_PKI_USAGE'],
      [[], 'OTW_ERR_PKI_USAGE'],
      [['issue', '--dir', 'x', '--bogus'], 'OTW_ERR_PKI_USAGE'],
      [['issue', '--dir', join(dir, 'none'), '--app-uri', 'urn:a', '--out', 'f'], 'OTW_ERR_PKI_NOT_INITIALISED'],
      [['init', '--dir', join(dir, 'p2')], 'OTW_ERR_PKI_NO_PASSPHRASE'],
      [['issue', '--dir', pki, '--app-uri', 'urn:a', '--profile', 'Basic128Rsa15', '--out', join(dir, 'a.der')], 'OTW_ERR_PKI_OPTION'],
      [['issue', '--dir', pki, '--app-uri', 'urn:a', '--ip', '10.0.0.300', '--out', join(dir, 'a.der')], 'OTW_ERR_PKI_OPTION'],
      [['issue', '--dir', pki, '--app-uri', 'urn:a', '--key-bits', '1024', '--out', join(dir, 'a.der')], 'OTW_ERR_PKI_KEY_SIZE'],
      [['issue', '--dir', pki, '--app-uri', 'urn:a', '--days', '0', '--out', join(dir, 'a.der')], 'OTW_ERR_PKI_OPTION'],
      [['revoke', '--dir', pki], 'OTW_ERR_PKI_USAGE'],
      [['revoke', '--dir', pki, '--serial', 'abcdef'], 'OTW_ERR_PKI_UNKNOWN_CERT'],
      [['push', '--dir', pki, '--endpoint', 'http://x', '--app-uri', 'urn:a'], 'OTW_ERR_PKI_OPTION'],
    ] as Array<[string[], string]>) {
      const env = argv[0] === 'init' ? {} : { OTWATCH_PKI_PASSPHRASE: PASS };
      const r = await run(argv, env);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.split('\n').filter(Boolean), argv.join(' ')).toHaveLength(1);
      expect(r.err.startsWith(`${code}: `), `${argv.join(' ')} -> ${r.err}`).toBe(true);
    }
    expect((await run(['init', '--dir', pki])).err).toMatch(/^OTW_ERR_PKI_EXISTS: /);
    const help = await run(['help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('otwatch pki push --dir DIR --endpoint');
  });

  it('a wrong passphrase is refused and nothing is issued', async () => {
    const r = await run(['issue', '--dir', pki, '--app-uri', 'urn:acme:x', '--out', join(dir, 'x.der')], { OTWATCH_PKI_PASSPHRASE: 'wrong' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^OTW_ERR_PKI_BAD_PASSPHRASE: /);
    const s = JSON.parse((await run(['status', '--dir', pki, '--json'])).out) as { certificates: Array<{ appUri: string | null }> };
    expect(s.certificates.some((c) => c.appUri === 'urn:acme:x')).toBe(false);
  });

  it('issue, status, revoke, status', async () => {
    const outFile = join(dir, 'plc1.der');
    const r = await run(['issue', '--dir', pki, '--app-uri', 'urn:acme:plc1', '--dns', 'plc1', '--dns', 'plc1.local', '--ip', '10.1.2.3', '--encrypt-key', '--out', outFile], { OTWATCH_PKI_PASSPHRASE: PASS, OTWATCH_PKI_KEY_PASSPHRASE: 'k3y-pass' });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const facts = certFacts(await readFile(outFile));
    expect(facts.uris).toEqual(['urn:acme:plc1']);
    expect(facts.dns).toEqual(['plc1', 'plc1.local']);
    expect(facts.ip).toEqual(['10.1.2.3']);
    expect(await readFile(`${outFile}.key`, 'utf8')).toContain('ENCRYPTED PRIVATE KEY');
    expect((await stat(`${outFile}.key`)).mode & 0o777).toBe(0o600);
    let s = JSON.parse((await run(['status', '--dir', pki, '--json'])).out) as { certificates: Array<{ serial: string; state: string; daysLeft: number }>; crls: unknown[] };
    const row = s.certificates.find((c) => c.serial === facts.serial)!;
    expect(row).toMatchObject({ state: 'valid', daysLeft: 364 });
    expect(s.crls).toHaveLength(1);
    expect((await run(['revoke', '--dir', pki, '--serial', facts.serial, '--reason', 'keyCompromise'])).code).toBe(0);
    s = JSON.parse((await run(['status', '--dir', pki, '--json'])).out) as typeof s;
    expect(s.certificates.find((c) => c.serial === facts.serial)!.state).toBe('revoked');
    expect((await run(['revoke', '--dir', pki, '--cert', outFile])).err).toMatch(/^OTW_ERR_PKI_ALREADY_REVOKED: /);
    const human = (await run(['status', '--dir', pki])).out;
    expect(human).toMatch(new RegExp(`^revoked\\t-?\\d+\\t${facts.serial}\\tapp\\turn:acme:plc1\\t`, 'm'));
  });

  it('sign takes the SAN from the CSR and refuses a URI that is not the application\'s', async () => {
    const csrFile = join(dir, 'req.der');
    await writeFile(csrFile, await makeCsr('urn:acme:plc9'));
    const bad = await run(['sign', '--dir', pki, '--csr', csrFile, '--app-uri', 'urn:acme:plc8', '--out', join(dir, 'plc9.der')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^OTW_ERR_PKI_CSR_URI_MISMATCH: .*urn:acme:plc9.*urn:acme:plc8/);
    const ok = await run(['sign', '--dir', pki, '--csr', csrFile, '--app-uri', 'urn:acme:plc9', '--out', join(dir, 'plc9.der')]);
    expect(ok.code).toBe(0);
    const f = certFacts(await readFile(join(dir, 'plc9.der')));
    expect(f.uris).toEqual(['urn:acme:plc9']);
    expect(f.dns).toEqual(['plc9.local']);
    expect(f.subject).toMatch(/CN=plc9/);
    const garbage = join(dir, 'garbage.der');
    await writeFile(garbage, Buffer.from('not a csr'));
    expect((await run(['sign', '--dir', pki, '--csr', garbage, '--app-uri', 'urn:a', '--out', join(dir, 'g.der')])).err).toMatch(/^OTW_ERR_PKI_BAD_CSR: /);
  });

  it('rotate re-issues a certificate past the rotation fraction to the same file', async () => {
    const outFile = join(dir, 'hmi.der');
    expect((await run(['issue', '--dir', pki, '--app-uri', 'urn:acme:hmi', '--days', '3', '--out', outFile])).code).toBe(0);
    const old = certFacts(await readFile(outFile));
    expect((await run(['rotate', '--dir', pki])).out).not.toContain('urn:acme:hmi');
    const r = await run(['rotate', '--dir', pki, '--rotate-fraction', '0.01']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`reissued urn:acme:hmi ${old.serial} -> [0-9a-f]{32}`));
    const now = certFacts(await readFile(outFile));
    expect(now.serial).not.toBe(old.serial);
    expect(now.dns).toEqual(old.dns);
    expect(Math.round((now.notAfter.getTime() - now.notBefore.getTime()) / 86_400_000)).toBe(3);
    const s = JSON.parse((await run(['status', '--dir', pki, '--json'])).out) as { certificates: Array<{ serial: string; state: string }> };
    expect(s.certificates.find((c) => c.serial === old.serial)!.state).toBe('superseded');
    expect(s.certificates.find((c) => c.serial === now.serial)!.state).toBe('valid');
  });

  it('export-trust writes CA certificates and CRLs; push --dry-run prints the plan', async () => {
    const t = join(dir, 'trust');
    const r = await run(['export-trust', '--dir', pki, '--out', t]);
    expect(r.code).toBe(0);
    expect((await stat(join(t, 'trusted/certs/root-ca.der'))).size).toBeGreaterThan(0);
    expect((await stat(join(t, 'trusted/crl/root-ca.crl'))).size).toBeGreaterThan(0);
    const d = await run(['push', '--dir', pki, '--endpoint', 'opc.tcp://127.0.0.1:1/none', '--app-uri', 'urn:acme:plc1', '--dry-run']);
    expect(d.code).toBe(0);
    expect(d.out).toMatch(/CreateSigningRequest with regeneratePrivateKey=true/);
    expect(d.out).toMatch(/ApplyChanges/);
  });

  it('audit verify: intact, then detects a changed, a removed, a reordered and a cut-off entry', async () => {
    const log = join(pki, 'audit.log');
    const good = await readFile(log, 'utf8');
    expect(good).not.toContain(PASS);
    const ok = await run(['audit', 'verify', '--dir', pki]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/audit log intact: \d+ entries/);
    const lines = good.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(4);
    const variants: Record<string, string[]> = {
      changed: lines.map((l, i) => (i === 2 ? l.replace(/"action":"[^"]+"/, '"action":"issue-forged"') : l)),
      removed: lines.filter((_, i) => i !== 2),
      reordered: [lines[0], lines[2], lines[1], ...lines.slice(3)],
      'cut off': lines.slice(0, -1),
    };
    for (const [what, v] of Object.entries(variants)) {
      await writeFile(log, v.join('\n') + '\n');
      const r = await run(['audit', 'verify', '--dir', pki]);
      expect(r.code, what).toBe(1);
      expect(r.err, what).toMatch(/^OTW_ERR_PKI_AUDIT_BROKEN: /);
    }
    await writeFile(log, good);
    expect((await run(['audit', 'verify', '--dir', pki])).code).toBe(0);
  });
});
