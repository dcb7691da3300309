#!/usr/bin/env node
/**
 * The `otwatch` command. Subcommands live in their own modules; this file only dispatches,
 * and turns errors into exit codes (DESIGN.md): 0 ok, 1 findings at or above --fail-on, 2 usage
 * or input error with one line on stderr.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeCommand } from './decode.js';
import { analyzeCommand } from './analyze.js';
import { EXIT_USAGE, UsageError } from './errors.js';
import type { CliIo } from './run.js';
import { otwatchVersion } from '../config/version.js';

const HELP = `Usage: otwatch <command> [options]

Passive security monitor for industrial networks (MQTT with Sparkplug B, OPC UA).

Commands:
  decode <capture>...    decode MQTT and OPC UA messages (NDJSON or a table)
  analyze <capture>...   decode, analyse (inventory, rules, baseline), store; findings + summary
  findings               list the findings of a store (--db FILE)
  assets                 list the asset inventory of a store (--db FILE)
  baseline <subcommand>  export, import, list, approve or remove learned baseline entries
  serve                  the SOC REST API (HTTPS; /api/v1, OpenAPI at /api/v1/openapi.json)
  token <subcommand>     API tokens: create, list, revoke (--db FILE --role ROLE)
  user <subcommand>      local users for the API login: add, passwd, remove
  capture --interface IF live capture (libpcap) decoded like decode; drops reported on stderr
  sensor --config FILE   continuous capture service (systemd unit in deploy/)
  pki <subcommand>       OPC UA application certificates: a plant CA, issue, sign, revoke,
                         rotate, push to servers (otwatch pki --help)
  report --standard STD  compliance report (IEC 62443-3-3, CIP-015, SP 800-82) as PDF/HTML/CSV/JSON
  elastic <subcommand>   ship findings and assets to Elasticsearch (setup, ship, status)
  tap --broker URL       broker tap: subscribe to an MQTT broker and analyse what it forwards
  backup | restore       online backup of the store and the PKI; verified restore
  config check FILE      validate the configuration file (docs/otwatch.example.jsonc)
  appliance              the appliance: store, demo data, PKI, HTTPS API and UI (npm start)
  help                   this help

Options:
  -h, --help             help (also after a command: otwatch decode --help)
  -V, --version          print the version

Exit codes: 0 success, 1 findings at or above --fail-on, 2 usage or input error.
`;

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        io.stdout.write(HELP);
        return cmd === undefined ? EXIT_USAGE : 0;
      case '-V':
      case '--version':
        io.stdout.write(`otwatch ${otwatchVersion()}\n`);
        return 0;
      case 'decode':
        return await decodeCommand(rest, io);
      case 'analyze':
        return await analyzeCommand(rest, io);
      case 'findings': {
        const { findingsCommand } = await import('./findings.js');
        return await findingsCommand(rest, io);
      }
      case 'assets': {
        const { assetsCommand } = await import('./assets.js');
        return await assetsCommand(rest, io);
      }
      case 'baseline': {
        const { baselineCommand } = await import('./baseline.js');
        return await baselineCommand(rest, io);
      }
      case 'serve': {
        const { serveCommand } = await import('./serve.js');
        return await serveCommand(rest, io);
      }
      case 'token': {
        const { tokenCommand } = await import('./token.js');
        return await tokenCommand(rest, io);
      }
      case 'user': {
        const { userCommand } = await import('./user.js');
        return await userCommand(rest, io);
      }
      case 'capture': {
        const { captureCommand } = await import('./capture.js');
        return await captureCommand(rest, io);
      }
      case 'sensor': {
        const { sensorCommand } = await import('./sensor.js');
        return await sensorCommand(rest, io);
      }
      case 'report': {
        const { reportCommand } = await import('./report.js');
        return await reportCommand(rest, io);
      }
      case 'elastic': {
        const { elasticCommand } = await import('./elastic.js');
        return await elasticCommand(rest, io);
      }
      case 'tap': {
        const { tapCommand } = await import('./tap.js');
        return await tapCommand(rest, io);
      }
      case 'config': {
        const { configCommand } = await import('./config.js');
        return await configCommand(rest, io);
      }
      case 'appliance': {
        const { applianceCommand } = await import('./appliance.js');
        return await applianceCommand(rest, io);
      }
      case 'backup': {
        const { backupCommand } = await import('./backup.js');
        return await backupCommand(rest, io);
      }
      case 'restore': {
        const { restoreCommand } = await import('./backup.js');
        return await restoreCommand(rest, io);
      }
      case 'pki': {
        // Loaded on demand: the PKI pulls in node-forge and node-opcua's client.
        const { runPki } = await import('../pki/cli.js');
        return await runPki(rest, io);
      }
      default:
        throw new UsageError('OTW_ERR_USAGE', `unknown command '${cmd}' (see otwatch --help)`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`otwatch: ${e.message}\n`);
      return EXIT_USAGE;
    }
    // parseArgs reports unknown options and missing values with these codes. Some of its messages
    // run over several lines (a value starting with '-': "… is ambiguous.\nDid you forget …\nTo
    // specify …"): joined into the one line a usage error gets.
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`otwatch: ${(e as Error).message.split('\n').map((l) => l.trim()).filter((l) => l !== '').join(' ')}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isMain()) {
  // A closed pipe (otwatch decode ... | head) is a normal end, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdoutIsTTY: process.stdout.isTTY === true,
    env: process.env,
    stdin: process.stdin,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`otwatch: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 70;
    },
  );
}
