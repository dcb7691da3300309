/**
 * System packages the tests need (Debian names), checked by the command each provides.
 * Installed with apt-get when missing and running as root; otherwise we stop with the one
 * apt-get line to run. Imported by scripts/test.js and scripts/bench (same list, one place).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** [command to look for (or an absolute path that must exist), Debian package] */
export const SYSTEM_DEPS = [
  ['/usr/include/pcap.h', 'libpcap-dev'], // headers for the optional libpcap binding (live capture)
  ['tshark', 'tshark'],
  ['editcap', 'wireshark-common'],
  ['mosquitto', 'mosquitto'],
  ['mosquitto_pub', 'mosquitto-clients'],
  ['tcpdump', 'tcpdump'],
  ['tcpreplay', 'tcpreplay'],
  ['openssl', 'openssl'],
  ['ip', 'iproute2'],
  ['pdftoppm', 'poppler-utils'],
  ['/usr/bin/chromium', 'chromium'], // the real browser for the UI end-to-end tests (playwright-core)
  ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', 'fonts-dejavu-core'], // fonts for screenshots and PDF checks
];

function have(cmd) {
  if (cmd.startsWith('/')) return existsSync(cmd);
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Ensure every system dependency is present; returns false (after printing why) when it cannot. */
export function ensureSystemDeps(deps = SYSTEM_DEPS, log = console.error) {
  const missing = [...new Set(deps.filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return true;
  const line = `DEBIAN_FRONTEND=noninteractive apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    log(`otwatch tests need system packages that are missing. Run as root:\n  apt-get update && ${line}`);
    return false;
  }
  log(`installing system packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  const still = deps.filter(([cmd]) => !have(cmd));
  if (still.length > 0) {
    log(`still missing after apt-get: ${still.map(([c]) => c).join(', ')}`);
    return false;
  }
  return true;
}
