/**
 * The CA passphrase: from OTWATCH_PKI_PASSPHRASE, or asked on the terminal (not echoed).
 * It is never printed, logged or written to the audit log.
 */
import { createInterface } from 'node:readline';
import { PkiError } from './errors.js';

/** The environment variable that holds the passphrase. */
export const PASSPHRASE_ENV = 'OTWATCH_PKI_PASSPHRASE';

/** Read the passphrase from the environment or the terminal; OTW_ERR_PKI_NO_PASSPHRASE otherwise. */
export async function getPassphrase(env: NodeJS.ProcessEnv, prompt = 'CA passphrase: '): Promise<string> {
  const v = env[PASSPHRASE_ENV];
  if (v !== undefined && v.length > 0) return v;
  const input = process.stdin;
  if (!input.isTTY) throw new PkiError('OTW_ERR_PKI_NO_PASSPHRASE');
  const rl = createInterface({ input, output: process.stderr, terminal: true });
  // Mute the echo: readline writes typed characters through _writeToOutput.
  const priv = rl as unknown as { _writeToOutput: (s: string) => void };
  let prompted = false;
  priv._writeToOutput = (s: string) => {
    if (!prompted) { process.stderr.write(s); prompted = true; }
  };
  const answer = await new Promise<string>((resolve) => rl.question(prompt, resolve));
  rl.close();
  process.stderr.write('\n');
  if (answer.length === 0) throw new PkiError('OTW_ERR_PKI_NO_PASSPHRASE');
  return answer;
}
