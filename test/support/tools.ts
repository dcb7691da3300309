/**
 * Real peers and reference tools for tests: tcpdump to capture what real clients and servers
 * send on loopback, tshark as the reference decoder. Each helper starts its process and stops it.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when a command is on PATH. */
export async function have(cmd: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${cmd}`]);
    return true;
  } catch {
    return false;
  }
}

export interface Capture {
  /** Stop tcpdump and wait until the file is complete. */
  stop(): Promise<void>;
}

/**
 * Start tcpdump on an interface (loopback by default) writing to `file`, filtered by a BPF
 * expression; resolves once tcpdump is listening, so no packet of the traffic that follows is lost.
 */
export async function startTcpdump(file: string, filter: string, iface = 'lo', extra: string[] = []): Promise<Capture> {
  // Immediate mode and a 16 MiB buffer: without them tcpdump on a busy loopback loses the end of
  // a capture (seen: 3 of 7 connections missing in 3 runs out of 4).
  const args = ['-i', iface, '-U', '-s', '0', '-n', '--immediate-mode', '-B', '16384', '-w', file, ...extra, filter];
  const child: ChildProcess = spawn('tcpdump', args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited ${code}: ${stderr}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        // Give the kernel a moment to hand the last packets to tcpdump before it stops.
        setTimeout(() => {
          child.once('exit', () => resolve());
          child.kill('SIGINT');
        }, 300);
      }),
  };
}

/** Run tshark and return its stdout. Large outputs are fine (64 MiB buffer). */
export async function tshark(args: string[]): Promise<string> {
  const { stdout } = await run('tshark', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
