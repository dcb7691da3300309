/**
 * The findings stream (Server-Sent Events) over a real loopback socket: a finding created after
 * the subscription arrives as an event, a triage change arrives as `changed`, Last-Event-ID
 * resumes. (inject() cannot read a response that never ends, hence the socket.)
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFindings, fixture, synthFinding, type Fixture } from './helpers.js';

let fx: Fixture;
let port: number;
beforeAll(async () => {
  fx = await fixture({ streamIntervalMs: 30 }, false);
  await fx.app.listen({ host: '127.0.0.1', port: 0 });
  port = (fx.app.server.address() as AddressInfo).port;
});
afterAll(async () => fx?.close());

interface Sse {
  events: { id: string; event: string; data: Record<string, unknown> }[];
  status: number;
  waitFor: (pred: (e: Sse['events'][number]) => boolean) => Promise<Sse['events'][number]>;
  close: () => void;
}

function subscribe(headers: Record<string, string>): Promise<Sse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/v1/findings/stream', headers });
    req.on('error', reject);
    req.on('response', (res) => {
      const s: Sse = {
        events: [],
        status: res.statusCode ?? 0,
        close: () => req.destroy(),
        waitFor: (pred) =>
          new Promise((ok, ko) => {
            const timer = setTimeout(() => ko(new Error(`no matching event; got ${JSON.stringify(s.events)}`)), 10_000);
            const check = () => {
              const e = s.events.find(pred);
              if (e) {
                clearTimeout(timer);
                res.off('data', check);
                ok(e);
              }
            };
            res.on('data', check);
            check();
          }),
      };
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const f: Record<string, string> = {};
          for (const line of block.split('\n')) {
            const m = /^(id|event|data): (.*)$/.exec(line);
            if (m) f[m[1]] = m[2];
          }
          if (f.data) s.events.push({ id: f.id, event: f.event, data: JSON.parse(f.data) as Record<string, unknown> });
        }
      });
      // The first comment line means the subscription is in place.
      res.once('data', () => resolve(s));
      if (res.statusCode !== 200) resolve(s);
    });
    req.end();
  });
}

describe('GET /api/v1/findings/stream', () => {
  it('delivers a finding created after the subscription, then its triage change', async () => {
    const old = synthFinding();
    addFindings(fx.store, [old]);
    const s = await subscribe(fx.auth('viewer'));
    try {
      expect(s.status).toBe(200);
      const f = synthFinding({ severity: 'critical', title: 'created after subscribing' });
      addFindings(fx.store, [f]);
      const e = await s.waitFor((x) => x.data.id === f.id);
      expect(e.event).toBe('finding');
      expect(e.data).toMatchObject({ change: 'new', id: f.id, severity: 'critical', title: 'created after subscribing', status: 'open' });
      const t = await fx.app.inject({ method: 'POST', url: `/api/v1/findings/${f.id}/triage`, headers: fx.auth('analyst'), payload: { action: 'acknowledge' } });
      expect(t.statusCode).toBe(201);
      const c = await s.waitFor((x) => x.data.id === f.id && x.data.change === 'changed');
      expect(c.data.status).toBe('acknowledged');
      expect(Number(c.id)).toBeGreaterThan(Number(e.id));
      // The finding from before the subscription was not replayed.
      expect(s.events.some((x) => x.data.id === old.id)).toBe(false);
    } finally {
      s.close();
    }
  });

  it('resumes after Last-Event-ID', async () => {
    const a = synthFinding();
    addFindings(fx.store, [a]);
    const seqA = fx.api.lastChangeSeq();
    const b = synthFinding();
    addFindings(fx.store, [b]);
    const s = await subscribe({ ...fx.auth('viewer'), 'last-event-id': String(seqA - 1) });
    try {
      await s.waitFor((x) => x.data.id === b.id);
      expect(s.events.map((x) => x.data.id)).toEqual([a.id, b.id]);
    } finally {
      s.close();
    }
  });

  it('keeps the last 100,000 changes, and a stream resuming from before them gets a reset event first', async () => {
    const from = fx.api.lastChangeSeq();
    // 100,010 updates of one finding, written as any writer would: each fires the change trigger.
    const f = synthFinding();
    addFindings(fx.store, [f]);
    const bump = fx.store.db.prepare('UPDATE findings SET count = count + 1 WHERE id = ?');
    fx.store.db.transaction(() => {
      for (let i = 0; i < 100_010; i++) bump.run(f.id);
    })();
    const last = fx.api.lastChangeSeq();
    expect(fx.store.db.prepare('SELECT count(*) FROM finding_changes').pluck().get()).toBe(100_000);
    expect(fx.api.oldestChangeSeq()).toBe(last - 99_999);
    const s = await subscribe({ ...fx.auth('viewer'), 'last-event-id': String(from) });
    try {
      const e = await s.waitFor((x) => x.event === 'finding');
      expect(s.events[0]).toMatchObject({ event: 'reset', data: { from, oldest: last - 99_999 } });
      expect(Number(e.id)).toBe(last - 99_999);
    } finally {
      s.close();
    }
    // Resuming inside the kept range: no reset.
    const ok = await subscribe({ ...fx.auth('viewer'), 'last-event-id': String(last - 5) });
    try {
      await ok.waitFor((x) => x.event === 'finding' && Number(x.id) === last);
      expect(ok.events.some((x) => x.event === 'reset')).toBe(false);
    } finally {
      ok.close();
    }
  });

  it('refuses without credentials', async () => {
    const s = await subscribe({});
    s.close();
    expect(s.status).toBe(401);
  });
});
