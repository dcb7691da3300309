/**
 * `otwatch user add|passwd|remove|list --db FILE`: local users of the API (POST /api/v1/login).
 * Passwords are hashed with scrypt; they are read from the environment variable
 * OTWATCH_PASSWORD or else from the first line of stdin, never from the command line (where
 * `ps` would show them). Every change goes to the audit log.
 */
import { parseArgs } from 'node:util';
import { hashPassword, passwordProblem } from '../api/auth.js';
import { ApiStore, ROLES, type Role } from '../store/apistore.js';
import { openStore } from './analyze.js';
import { EXIT_OK, UsageError } from './errors.js';
import type { CliIo } from './run.js';
import { cliActor } from './token.js';

export const PASSWORD_ENV = 'OTWATCH_PASSWORD';

export const USER_HELP = `Usage: otwatch user <add|passwd|remove|list> [NAME] --db FILE [options]

  add NAME --role viewer|analyst|auditor|admin   create a user
  passwd NAME                                    set a new password (ends the user's sessions)
  remove NAME                                    delete a user and their sessions
  list                                           users and roles

The password comes from ${PASSWORD_ENV} or the first line of stdin (at least 12 characters).
`;

async function readPassword(io: CliIo): Promise<string> {
  const env = io.env[PASSWORD_ENV];
  let pw = env;
  if (pw === undefined) {
    let data = '';
    for await (const chunk of io.stdin) {
      data += chunk.toString();
      if (data.includes('\n') || data.length > 4096) break;
    }
    pw = data.split(/\r?\n/)[0];
  }
  const problem = passwordProblem(pw);
  if (problem) throw new UsageError('OTW_ERR_USAGE', `user: ${problem}`);
  return pw;
}

export async function userCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      db: { type: 'string' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, name] = positionals;
  if (values.help || sub === undefined) {
    io.stdout.write(USER_HELP);
    return values.help ? EXIT_OK : 2;
  }
  if (!['add', 'passwd', 'remove', 'list'].includes(sub)) throw new UsageError('OTW_ERR_USAGE', `user: unknown subcommand '${sub}' (add, passwd, remove, list)`);
  if (!values.db) throw new UsageError('OTW_ERR_USAGE', 'user: --db FILE is required');
  if (sub !== 'list' && (!name || !/^[A-Za-z0-9._@-]{1,128}$/.test(name))) throw new UsageError('OTW_ERR_USAGE', `user ${sub}: NAME expected (letters, digits, . _ @ -)`);
  if (sub === 'add' && (!values.role || !(ROLES as readonly string[]).includes(values.role))) throw new UsageError('OTW_ERR_USAGE', `user add: --role must be one of ${ROLES.join(', ')}`);
  const store = openStore(values.db, sub !== 'add');
  const api = new ApiStore(store);
  try {
    switch (sub) {
      case 'add': {
        if (api.user(name)) throw new UsageError('OTW_ERR_USAGE', `user add: ${name} exists`);
        const hash = await hashPassword(await readPassword(io));
        if (!api.addUser(name, values.role as Role, hash)) throw new UsageError('OTW_ERR_USAGE', `user add: ${name} exists`);
        api.audit({ actor: cliActor(), action: 'user add', target: name, outcome: 'ok', detail: { role: values.role } });
        io.stdout.write(`added ${name} (${values.role})\n`);
        return EXIT_OK;
      }
      case 'passwd': {
        if (!api.user(name)) throw new UsageError('OTW_ERR_USAGE', `user passwd: no user ${name}`);
        api.setPassword(name, await hashPassword(await readPassword(io)));
        api.audit({ actor: cliActor(), action: 'user passwd', target: name, outcome: 'ok' });
        io.stdout.write(`password of ${name} changed\n`);
        return EXIT_OK;
      }
      case 'remove': {
        if (!api.removeUser(name)) throw new UsageError('OTW_ERR_USAGE', `user remove: no user ${name}`);
        api.audit({ actor: cliActor(), action: 'user remove', target: name, outcome: 'ok' });
        io.stdout.write(`removed ${name}\n`);
        return EXIT_OK;
      }
      default:
        for (const u of api.users()) io.stdout.write(`${u.name}\t${u.role}\tcreated ${u.created}\n`);
        return EXIT_OK;
    }
  } finally {
    store.close();
  }
}
