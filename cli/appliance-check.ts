/**
 * The appliance's self-check over HTTPS, trusting only the plant CA it printed (as a user
 * would): readyz, the findings listed with a token, and `/` (the UI, or its 503 when the UI was
 * not built into dist/ui). Without the first admin token (later starts) it uses a viewer token
 * made for the check and revoked right after.
 */
import { request } from 'node:https';
import { newToken, sha256 } from '../api/auth.js';
import { ApiStore } from '../store/apistore.js';
import { openStore } from './analyze.js';

export interface CheckResult {
  ok: boolean;
  lines: string[];
}

function get(port: number, ca: Buffer, path: string, token?: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    // 127.0.0.1 with SNI/verification for 'localhost': the name the certificate was issued for.
    const req = request({ host: '127.0.0.1', servername: 'localhost', port, path, ca, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

export async function selfCheck(o: { port: number; ca: Buffer; db: string; token: string | null; expectFindings?: boolean }): Promise<CheckResult> {
  const lines: string[] = [];
  let ok = true;
  const note = (pass: boolean, line: string) => {
    ok &&= pass;
    lines.push(`${pass ? 'ok  ' : 'FAIL'} ${line}`);
  };
  let temp: string | null = null;
  let token = o.token;
  if (token === null) {
    temp = `appliance-check-${Date.now()}`;
    token = newToken();
    const s = openStore(o.db, true);
    new ApiStore(s).createToken(temp, 'viewer', sha256(token), 'appliance');
    s.close();
  }
  try {
    const ready = await get(o.port, o.ca, '/readyz');
    note(ready.status === 200, `GET /readyz over HTTPS (certificate verified against the plant CA): ${ready.status}`);
    const f = await get(o.port, o.ca, '/api/v1/findings?limit=500', token);
    let n = -1;
    try {
      n = (JSON.parse(f.body) as { items?: unknown[] }).items?.length ?? -1;
    } catch {
      // n stays -1: reported below
    }
    note(f.status === 200 && (o.expectFindings === false ? n >= 0 : n > 0), `GET /api/v1/findings with the ${o.token ? 'admin' : 'check'} token: ${f.status}, ${n} findings`);
    const ui = await get(o.port, o.ca, '/');
    const uiOk = (ui.status === 200 && ui.type.includes('text/html')) || ui.status === 503;
    note(uiOk, `GET /: ${ui.status} ${ui.status === 503 ? '(the web UI is not built into dist/ui)' : ui.type}`);
  } catch (e) {
    note(false, `HTTPS request failed: ${(e as Error).message}`);
  } finally {
    if (temp !== null) {
      const s = openStore(o.db, true);
      new ApiStore(s).revokeToken(temp);
      s.close();
    }
  }
  return { ok, lines };
}
