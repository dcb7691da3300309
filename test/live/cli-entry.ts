/**
 * A stand-in for cli/main.ts in the live-capture tests, compiled with the modules it imports
 * (tests/live/build.ts): it runs `capture`, `sensor` and `decode` with main.ts's error handling
 * (one line on stderr and exit 2 for usage and input errors), so the tests run the real commands
 * in a real process, with real worker threads, whether or not main.ts wires them yet.
 */
import { captureCommand } from '../../cli/capture.js';
import { decodeCommand } from '../../cli/decode.js';
import { sensorCommand } from '../../cli/sensor.js';
import { EXIT_USAGE, UsageError } from '../../cli/errors.js';
import type { CliIo } from '../../cli/run.js';

const commands: Record<string, (argv: string[], io: CliIo) => Promise<number>> = {
  capture: captureCommand,
  sensor: sensorCommand,
  decode: decodeCommand,
};

async function run(argv: string[]): Promise<number> {
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdoutIsTTY: false, env: process.env, stdin: process.stdin };
  const cmd = commands[argv[0] ?? ''];
  try {
    if (!cmd) throw new UsageError('OTW_ERR_USAGE', `unknown command '${argv[0]}'`);
    return await cmd(argv.slice(1), io);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (e instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`otwatch: ${(e as Error).message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`otwatch: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 70;
  },
);
