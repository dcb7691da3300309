/**
 * `otwatch token create|list|revoke --db FILE`: API tokens. A token is 32 random bytes shown once
 * at creation; the store keeps only its SHA-256. Every change goes to the audit log.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { newToken, sha256 } from '../api/auth.js';
import { ApiStore, ROLES, type Role } from '../store/apistore.js';
import { openStore } from './analyze.js';
import { EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';

export const TOKEN_HELP = `Usage: otwatch token <create|list|revoke> --db FILE [options]

  create --role viewer|analyst|auditor|admin --name NAME   print a new token (shown once)
  list [--json]                                           tokens (never their secret)
  revoke --name NAME|ID                                   revoke a token

Roles: viewer (read findings and inventory), analyst (+ triage), auditor (read, audit log, PKI
status), admin (everything: baseline, tokens, PKI). Use a token as 'Authorization: Bearer TOKEN'.
`;

export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:uid${process.getuid?.() ?? '?'}`;
  }
}

export async function tokenCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, ...rest] = positionals;
  if (values.help || sub === undefined) {
    io.stdout.write(TOKEN_HELP);
    return values.help ? EXIT_OK : 2;
  }
  if (!values.db) throw new UsageError('OTW_ERR_USAGE', 'token: --db FILE is required');
  if (!['create', 'list', 'revoke'].includes(sub)) throw new UsageError('OTW_ERR_USAGE', `token: unknown subcommand '${sub}' (create, list, revoke)`);
  const store = openStore(values.db, sub !== 'create');
  const api = new ApiStore(store);
  try {
    switch (sub) {
      case 'create': {
        const name = values.name;
        if (!name || !/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new UsageError('OTW_ERR_USAGE', 'token create: --name NAME expected (letters, digits, . _ -, at most 64)');
        if (!values.role || !(ROLES as readonly string[]).includes(values.role)) throw new UsageError('OTW_ERR_USAGE', `token create: --role must be one of ${ROLES.join(', ')}`);
        if (api.tokenNameTaken(name)) throw new UsageError('OTW_ERR_USAGE', `token create: a token named ${name} exists in ${values.db}`);
        const token = newToken();
        const t = api.createToken(name, values.role as Role, sha256(token), cliActor());
        api.audit({ actor: cliActor(), action: 'token create', target: name, outcome: 'ok', detail: { role: t.role, id: t.id } });
        io.stdout.write(`${token}\n`);
        io.stderr.write(`token ${name} (${t.role}) created; it is shown only now\n`);
        return EXIT_OK;
      }
      case 'list': {
        const ts = api.tokens();
        if (values.json) io.stdout.write(JSON.stringify(ts) + '\n');
        else for (const t of ts) io.stdout.write(`${t.id}\t${t.name}\t${t.role}\tcreated ${t.created}\tlast used ${t.lastUsed ?? '-'}${t.revoked ? `\trevoked ${t.revoked}` : ''}\n`);
        return EXIT_OK;
      }
      default: {
        const target = values.name ?? rest[0];
        if (!target) throw new UsageError('OTW_ERR_USAGE', 'token revoke: --name NAME|ID expected');
        if (!api.revokeToken(target)) throw new UsageError('OTW_ERR_USAGE', `token revoke: no live token ${target} in ${values.db}`);
        api.audit({ actor: cliActor(), action: 'token revoke', target, outcome: 'ok' });
        io.stdout.write(`revoked ${target}\n`);
        return EXIT_OK;
      }
    }
  } finally {
    store.close();
  }
}
