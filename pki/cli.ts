/**
 * `otwatch pki <subcommand> ...`: every PKI command, parsed with node:util parseArgs. Returns the
 * exit code: 0 success, 1 when `audit verify` finds the chain broken, 2 for usage, input and
 * operation errors, with one line `OTW_ERR_PKI_...: reason` on stderr. Secrets (passphrases,
 * passwords, private keys) are never printed: they come from the environment or the terminal.
 */
import { parseArgs, format } from 'node:util';
import { setWarningLogger, setErrorLogger } from 'node-opcua';
import { readFile } from 'node:fs/promises';
import { PkiError, isPkiError } from './errors.js';
import { PKI_DEFAULTS, intOption, fractionOption, profileOption } from './options.js';
import { initCa, openCa, type OpenCa } from './ca.js';
import { getPassphrase } from './passphrase.js';
import { issueCertificate, signCsr } from './issue.js';
import { revokeCertificate } from './revoke.js';
import { refreshCrls, crlStates } from './crlstore.js';
import { exportTrust } from './trust.js';
import { statusRows } from './status.js';
import { rotate } from './rotate.js';
import { pushCertificate, pushPlan } from './push.js';
import { fetchServerCertificate, type PushCredentials } from './pushclient.js';
import { thumbprintOf } from './certinfo.js';
import { verifyAudit } from './audit.js';
import { checkWireCertificate } from './wirecheck.js';
import { REVOCATION_REASONS, type RevocationReason } from './crl.js';
import { writeFileAtomic, readFileOrFail } from './layout.js';

/** Where the CLI writes and what environment it reads. */
export interface PkiIo { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; env: NodeJS.ProcessEnv }

/** Environment variables the CLI reads (values never printed). */
export const PKI_ENV = {
  passphrase: 'OTWATCH_PKI_PASSPHRASE',
  keyPassphrase: 'OTWATCH_PKI_KEY_PASSPHRASE',
  pushPassword: 'OTWATCH_PKI_PUSH_PASSWORD',
  /** Set to 1 to see node-opcua's own warnings (on stderr) during push and rotate. */
  debug: 'OTWATCH_PKI_DEBUG',
} as const;

/**
 * node-opcua prints warnings (retries after ApplyChanges, certificate notices) on stdout. The
 * CLI reports failures itself in one line, so they are dropped unless OTWATCH_PKI_DEBUG is set.
 * The loggers are process-wide: this is for the CLI process.
 */
function routeOpcuaLogs(io: Pick<PkiIo, 'env' | 'stderr'>): void {
  const sink = io.env[PKI_ENV.debug] ? (...a: unknown[]) => void io.stderr.write(format(...a) + '\n') : () => undefined;
  setWarningLogger(sink);
  setErrorLogger(sink);
}

// Until a command routes them: loading node-opcua starts an asynchronous self-test that prints
// NODE-OPCUA-W27 (Node 20.20 refuses RSA PKCS#1 v1.5 decryption, CVE-2023-46809) to stdout, in
// the middle of `otwatch appliance` or `pki --help` output. Our policy is Basic256Sha256, so the
// notice goes to stderr only when OTWATCH_PKI_DEBUG asks for node-opcua's warnings. Installed
// here, at module load, before that self-test can finish.
routeOpcuaLogs({ env: process.env, stderr: process.stderr });

type Values = Record<string, string | boolean | string[] | undefined>;
interface Command {
  usage: string;
  options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  run(v: Values, io: PkiIo, positionals: string[]): Promise<number>;
}

const dir = { dir: { type: 'string' } } as const;

function str(v: Values, name: string, required = false): string | undefined {
  const x = v[name];
  if (typeof x === 'string' && x.length > 0) return x;
  if (required) throw new PkiError('OTW_ERR_PKI_USAGE', `--${name} is required`);
  return undefined;
}
function list(v: Values, name: string): string[] {
  const x = v[name];
  return Array.isArray(x) ? x : [];
}
function out(io: PkiIo, line: string): void {
  io.stdout.write(line + '\n');
}

async function withCa<T>(v: Values, fn: (ca: OpenCa) => Promise<T>): Promise<T> {
  const ca = await openCa(str(v, 'dir', true)!);
  try {
    return await fn(ca);
  } finally {
    ca.close();
  }
}

function credentials(v: Values, io: PkiIo): PushCredentials | undefined {
  const user = str(v, 'user');
  if (!user) return undefined;
  const password = io.env[PKI_ENV.pushPassword];
  if (!password) throw new PkiError('OTW_ERR_PKI_USAGE', `--user needs the password in ${PKI_ENV.pushPassword}`);
  return { user, password };
}

const COMMANDS: Record<string, Command> = {
  init: {
    usage: 'init --dir DIR [--org NAME] [--ca-name NAME] [--issuing-ca] [--ca-key-bits 2048..4096] [--ca-days N] [--crl-days N]',
    options: { ...dir, org: { type: 'string' }, 'ca-name': { type: 'string' }, 'issuing-ca': { type: 'boolean' }, 'ca-key-bits': { type: 'string' }, 'ca-days': { type: 'string' }, 'crl-days': { type: 'string' } },
    async run(v, io) {
      const d = str(v, 'dir', true)!;
      const caKeyBits = intOption('ca-key-bits', str(v, 'ca-key-bits'), PKI_DEFAULTS.caKeyBits, 2048, 4096);
      if (caKeyBits % 1024) throw new PkiError('OTW_ERR_PKI_OPTION', '--ca-key-bits must be 2048, 3072 or 4096');
      const caDays = intOption('ca-days', str(v, 'ca-days'), PKI_DEFAULTS.caDays, 1, 36500);
      const crlDays = intOption('crl-days', str(v, 'crl-days'), PKI_DEFAULTS.crlDays, 1, 3650);
      const passphrase = await getPassphrase(io.env);
      const config = await initCa(d, { passphrase, organization: str(v, 'org'), caName: str(v, 'ca-name'), issuingCa: v['issuing-ca'] === true, caKeyBits, caDays, crlDays });
      await withCa(v, (ca) => refreshCrls(ca, passphrase, { force: true }));
      for (const c of config.cas) out(io, `${c.role} CA ${c.name.cn} serial ${c.serial} key id ${c.keyId}`);
      out(io, `initialised ${d}`);
      return 0;
    },
  },
  issue: {
    usage: 'issue --dir DIR --app-uri URI [--dns NAME]... [--ip ADDR]... [--cn NAME] [--profile P] [--days N] [--key-bits N] [--encrypt-key] --out FILE',
    options: { ...dir, 'app-uri': { type: 'string' }, dns: { type: 'string', multiple: true }, ip: { type: 'string', multiple: true }, cn: { type: 'string' }, profile: { type: 'string' }, days: { type: 'string' }, 'key-bits': { type: 'string' }, 'encrypt-key': { type: 'boolean' }, out: { type: 'string' } },
    async run(v, io) {
      const appUri = str(v, 'app-uri', true)!;
      const outFile = str(v, 'out', true)!;
      const profile = profileOption(str(v, 'profile'));
      const days = intOption('days', str(v, 'days'), PKI_DEFAULTS.days, 1, 3650);
      const keyBits = intOption('key-bits', str(v, 'key-bits'), PKI_DEFAULTS.keyBits, 1024, 8192);
      let keyPassphrase: string | undefined;
      if (v['encrypt-key'] === true) {
        keyPassphrase = io.env[PKI_ENV.keyPassphrase];
        if (!keyPassphrase) throw new PkiError('OTW_ERR_PKI_USAGE', `--encrypt-key needs the passphrase in ${PKI_ENV.keyPassphrase}`);
      }
      return withCa(v, async (ca) => {
        const passphrase = await getPassphrase(io.env);
        const { record } = await issueCertificate(ca, passphrase, { appUri, cn: str(v, 'cn'), dns: list(v, 'dns'), ip: list(v, 'ip'), profile, days, keyBits, out: outFile, keyPassphrase });
        out(io, `issued ${record.serial} thumbprint ${record.thumbprint} for ${appUri}, valid until ${record.notAfter}`);
        out(io, `wrote ${outFile} and ${outFile}.key`);
        return 0;
      });
    },
  },
  sign: {
    usage: 'sign --dir DIR --csr FILE --app-uri URI [--profile P] [--days N] --out FILE',
    options: { ...dir, csr: { type: 'string' }, 'app-uri': { type: 'string' }, profile: { type: 'string' }, days: { type: 'string' }, out: { type: 'string' } },
    async run(v, io) {
      const appUri = str(v, 'app-uri', true)!;
      const outFile = str(v, 'out', true)!;
      const csr = await readFileOrFail(str(v, 'csr', true)!);
      const profile = profileOption(str(v, 'profile'));
      const days = intOption('days', str(v, 'days'), PKI_DEFAULTS.days, 1, 3650);
      return withCa(v, async (ca) => {
        const passphrase = await getPassphrase(io.env);
        const { der, record } = await signCsr(ca, passphrase, csr, { appUri, profile, days });
        await writeFileAtomic(outFile, der);
        out(io, `signed ${record.serial} thumbprint ${record.thumbprint} for ${appUri}; wrote ${outFile}`);
        return 0;
      });
    },
  },
  revoke: {
    usage: `revoke --dir DIR (--cert FILE | --serial HEX) [--reason ${Object.keys(REVOCATION_REASONS).join('|')}]`,
    options: { ...dir, cert: { type: 'string' }, serial: { type: 'string' }, reason: { type: 'string' } },
    async run(v, io) {
      const cert = str(v, 'cert');
      const serial = str(v, 'serial');
      if ((cert === undefined) === (serial === undefined)) throw new PkiError('OTW_ERR_PKI_USAGE', 'give exactly one of --cert and --serial');
      const reason = str(v, 'reason') ?? 'unspecified';
      if (!Object.hasOwn(REVOCATION_REASONS, reason)) throw new PkiError('OTW_ERR_PKI_OPTION', `--reason must be one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
      const target = cert ? { der: await readFileOrFail(cert) } : { serial: serial! };
      return withCa(v, async (ca) => {
        const passphrase = await getPassphrase(io.env);
        const r = await revokeCertificate(ca, passphrase, target, reason as RevocationReason);
        out(io, `revoked ${r.serial} (${r.appUri ?? r.subject}) reason ${reason}; CRLs regenerated`);
        return 0;
      });
    },
  },
  crl: {
    usage: 'crl --dir DIR [--force]   (regenerate CRLs that are due, or all with --force)',
    options: { ...dir, force: { type: 'boolean' } },
    async run(v, io) {
      return withCa(v, async (ca) => {
        const due = (await crlStates(ca)).filter((s) => s.due);
        if (due.length === 0 && v.force !== true) {
          out(io, 'CRLs are current');
          return 0;
        }
        const done = await refreshCrls(ca, await getPassphrase(io.env), { force: v.force === true });
        for (const e of done) out(io, `regenerated the ${e.role} CA's CRL`);
        return 0;
      });
    },
  },
  'export-trust': {
    usage: 'export-trust --dir DIR --out TRUSTDIR [--issuer-folder issuer|issuers]',
    options: { ...dir, out: { type: 'string' }, 'issuer-folder': { type: 'string' } },
    async run(v, io) {
      const outDir = str(v, 'out', true)!;
      const folder = str(v, 'issuer-folder') ?? 'issuer';
      if (folder !== 'issuer' && folder !== 'issuers') throw new PkiError('OTW_ERR_PKI_OPTION', '--issuer-folder must be issuer or issuers');
      return withCa(v, async (ca) => {
        if ((await crlStates(ca)).some((s) => s.due)) await refreshCrls(ca, await getPassphrase(io.env));
        const files = await exportTrust(ca, { out: outDir, issuerFolder: folder });
        await ca.audit('export-trust', { out: outDir, files: files.length });
        for (const f of files) out(io, `wrote ${f}`);
        return 0;
      });
    },
  },
  status: {
    usage: 'status --dir DIR [--json] [--rotate-fraction F]',
    options: { ...dir, json: { type: 'boolean' }, 'rotate-fraction': { type: 'string' } },
    async run(v, io) {
      const fraction = fractionOption('rotate-fraction', str(v, 'rotate-fraction'), PKI_DEFAULTS.rotateFraction);
      return withCa(v, async (ca) => {
        const rows = statusRows(ca.inventory.list().filter((r) => r.source !== 'push-client'), new Date(), fraction);
        const crls = (await crlStates(ca)).map((s) => ({ ca: s.entry.role, crlNumber: s.info?.crlNumber ?? null, nextUpdate: s.info?.nextUpdate?.toISOString() ?? null, due: s.due }));
        if (v.json === true) {
          out(io, JSON.stringify({ certificates: rows, crls }));
          return 0;
        }
        out(io, ['STATE', 'DAYS', 'SERIAL', 'KIND', 'APPLICATION', 'NOT AFTER'].join('\t'));
        for (const r of rows) out(io, [r.state, r.daysLeft, r.serial, r.kind, r.appUri ?? r.subject, r.notAfter].join('\t'));
        for (const c of crls) out(io, `crl ${c.ca}: number ${c.crlNumber ?? '-'} next update ${c.nextUpdate ?? '-'}${c.due ? ' (due: run `otwatch pki crl`)' : ''}`);
        return 0;
      });
    },
  },
  rotate: {
    usage: 'rotate --dir DIR [--app-uri URI] [--force] [--rotate-fraction F] [--user NAME] [--concurrency N] [--skip-apply-changes]',
    options: { ...dir, 'app-uri': { type: 'string' }, force: { type: 'boolean' }, 'rotate-fraction': { type: 'string' }, user: { type: 'string' }, concurrency: { type: 'string' }, 'skip-apply-changes': { type: 'boolean' } },
    async run(v, io) {
      const fraction = fractionOption('rotate-fraction', str(v, 'rotate-fraction'), PKI_DEFAULTS.rotateFraction);
      const concurrency = intOption('concurrency', str(v, 'concurrency'), 5, 1, 64);
      const creds = credentials(v, io);
      if (creds) routeOpcuaLogs(io);
      return withCa(v, async (ca) => {
        const passphrase = await getPassphrase(io.env);
        const res = await rotate(ca, passphrase, { fraction, force: v.force === true || str(v, 'app-uri') !== undefined, appUri: str(v, 'app-uri'), credentials: creds, concurrency, applyChanges: v['skip-apply-changes'] !== true });
        for (const r of res) out(io, `${r.action} ${r.appUri} ${r.oldSerial}${r.newSerial ? ` -> ${r.newSerial}` : ''}${r.error ? `: ${r.error}` : ''}`);
        if (res.length === 0) out(io, 'nothing to rotate');
        const failed = res.filter((r) => r.action === 'failed').length;
        if (failed) throw new PkiError('OTW_ERR_PKI_PUSH_FAILED', `${failed} of ${res.length} rotation(s) failed`);
        return 0;
      });
    },
  },
  push: {
    usage: 'push --dir DIR --endpoint opc.tcp://HOST:PORT/PATH --app-uri URI --user NAME [--server-thumbprint HEX] [--days N] [--profile P] [--skip-apply-changes] [--dry-run]',
    options: { ...dir, endpoint: { type: 'string' }, 'app-uri': { type: 'string' }, user: { type: 'string' }, 'server-thumbprint': { type: 'string' }, days: { type: 'string' }, profile: { type: 'string' }, 'skip-apply-changes': { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
    async run(v, io) {
      const endpoint = str(v, 'endpoint', true)!;
      if (!/^opc\.tcp:\/\/[^/\s]+:\d{1,5}(\/\S*)?$/.test(endpoint)) throw new PkiError('OTW_ERR_PKI_OPTION', `--endpoint must be opc.tcp://HOST:PORT[/PATH], got ${JSON.stringify(endpoint)}`);
      const appUri = str(v, 'app-uri', true)!;
      const days = intOption('days', str(v, 'days'), PKI_DEFAULTS.days, 1, 3650);
      const profile = profileOption(str(v, 'profile'));
      const applyChanges = v['skip-apply-changes'] !== true;
      const serverThumbprint = str(v, 'server-thumbprint');
      routeOpcuaLogs(io);
      return withCa(v, async (ca) => {
        if (v['dry-run'] === true) {
          let current = 'unknown (not reachable)';
          try {
            current = thumbprintOf(await fetchServerCertificate(endpoint, { timeoutMs: 5000 }));
          } catch {
            // the plan is printed anyway
          }
          out(io, `plan for ${endpoint} (${appUri}), server certificate now ${current}:`);
          pushPlan({ endpoint, appUri, applyChanges, serverThumbprint }, ca.config.cas.length).forEach((s, i) => out(io, `  ${i + 1}. ${s}`));
          ca.inventory.recordPush({ at: new Date().toISOString(), endpoint, appUri, serial: null, outcome: 'dry-run', detail: 'plan printed' });
          await ca.audit('push-dry-run', { endpoint, appUri });
          return 0;
        }
        const creds = credentials(v, io);
        if (!creds) throw new PkiError('OTW_ERR_PKI_USAGE', '--user is required (a user with the SecurityAdmin role)');
        const passphrase = await getPassphrase(io.env);
        const r = await pushCertificate(ca, passphrase, { endpoint, appUri, credentials: creds, applyChanges, serverThumbprint, days, profile, log: (l) => out(io, l) });
        out(io, `pushed ${r.serial} to ${endpoint}: ${r.previousThumbprint} -> ${r.thumbprint}${r.verified ? ' (verified)' : ' (ApplyChanges not called: not verified)'}`);
        return 0;
      });
    },
  },
  audit: {
    usage: 'audit verify --dir DIR',
    options: { ...dir },
    async run(v, io, positionals) {
      if (positionals[0] !== 'verify') throw new PkiError('OTW_ERR_PKI_USAGE', 'usage: otwatch pki audit verify --dir DIR');
      return withCa(v, async (ca) => {
        const r = await verifyAudit(ca.layout.audit, ca.inventory);
        if (r.ok) {
          out(io, `audit log intact: ${r.entries} entries`);
          return 0;
        }
        io.stderr.write(`OTW_ERR_PKI_AUDIT_BROKEN: ${ca.layout.audit} line ${r.line}: ${r.reason}\n`);
        return 1;
      });
    },
  },
  check: {
    usage: 'check --dir DIR --cert FILE   (match a certificate against the inventory, as the wire check does)',
    options: { ...dir, cert: { type: 'string' } },
    async run(v, io) {
      const der = await readFile(str(v, 'cert', true)!).catch((e: Error) => { throw new PkiError('OTW_ERR_PKI_FILE', e.message); });
      return withCa(v, async (ca) => {
        out(io, JSON.stringify(checkWireCertificate(ca.inventory, der, new Date())));
        return 0;
      });
    },
  },
};

/** The usage text of every subcommand. */
export function pkiUsage(): string {
  return Object.values(COMMANDS).map((c) => `  otwatch pki ${c.usage}`).join('\n');
}

/** Run `otwatch pki <argv...>`; argv starts at the subcommand. Returns the exit code. */
export async function runPki(argv: string[], io: PkiIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === 'help' || name === '--help' || name === '-h') {
      io.stdout.write(`usage:\n${pkiUsage()}\n`);
      return 0;
    }
    if (name === undefined) throw new PkiError('OTW_ERR_PKI_USAGE', `missing subcommand (one of: ${Object.keys(COMMANDS).join(', ')}; or help)`);
    const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!cmd) throw new PkiError('OTW_ERR_PKI_USAGE', `unknown subcommand ${JSON.stringify(name)} (try: ${Object.keys(COMMANDS).join(', ')})`);
    let parsed: { values: Values; positionals: string[] };
    try {
      parsed = parseArgs({ args: rest, options: cmd.options, allowPositionals: name === 'audit', strict: true }) as { values: Values; positionals: string[] };
    } catch (e) {
      throw new PkiError('OTW_ERR_PKI_USAGE', `${(e as Error).message.split('\n')[0]}; usage: otwatch pki ${cmd.usage}`);
    }
    return await cmd.run(parsed.values, io, parsed.positionals);
  } catch (e) {
    if (isPkiError(e)) {
      io.stderr.write(`${e.code}: ${e.message}\n`);
    } else {
      io.stderr.write(`OTW_ERR_PKI_INTERNAL: ${(e as Error).message?.split('\n')[0] ?? String(e)}\n`);
    }
    return 2;
  }
}
