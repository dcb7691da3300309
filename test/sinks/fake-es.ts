/**
 * A small fake Elasticsearch on loopback, for tests and the sink benchmark (no Elasticsearch can
 * run on these machines: no package, no container engine). It speaks only what the sink uses:
 * `GET /` (with the `x-elastic-product: Elasticsearch` header the client checks on every answer),
 * `PUT _ilm/policy`, `PUT _ingest/pipeline`, `PUT _index_template`, and `POST _bulk` with
 * `create` operations only, as data streams do (`index` is refused per item with a 400). A
 * second create of an _id in a stream answers 409. It records what it receives, keeps its data
 * across stop()/start() (a restarted cluster keeps its indices), and can be told to fail.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ItemError {
  status: number;
  type: string;
  reason: string;
}

export interface FakeEsOptions {
  /** 'docs' keeps every document (tests), 'ids' only ids (409s still work), 'none' nothing (bench). */
  keep?: 'docs' | 'ids' | 'none';
  /** Decide a per-document error (e.g. a 400 mapping conflict) before storing. */
  reject?: (doc: Record<string, unknown>, index: string) => ItemError | null;
}

export class FakeElasticsearch {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  /** index → _id → document (or null when only ids are kept). */
  readonly docs = new Map<string, Map<string, Record<string, unknown> | null>>();
  readonly templates = new Map<string, unknown>();
  readonly policies = new Map<string, unknown>();
  readonly pipelines = new Map<string, unknown>();
  readonly requests: { method: string; path: string }[] = [];
  created = 0;
  conflicts = 0;
  bulkRequests = 0;
  /** Answer the next n _bulk requests with this status as a whole (e.g. 503, 429). */
  failBulk: { status: number; remaining: number } | null = null;
  /** Answer per-document 429 for the next n documents. */
  throttleDocs = 0;

  constructor(private readonly opts: FakeEsOptions = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listen (on `port`, or the last one, or a free one). */
  async start(port = this.port): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const a = server.address();
    this.port = typeof a === 'object' && a ? a.port : port;
  }

  /** Stop listening and cut every open connection (as a crashed node would). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Every stored document of the streams matching a prefix. */
  all(prefix = ''): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const [index, m] of this.docs) if (index.startsWith(prefix)) for (const d of m.values()) if (d) out.push(d);
    return out;
  }

  count(prefix = ''): number {
    let n = 0;
    for (const [index, m] of this.docs) if (index.startsWith(prefix)) n += m.size;
    return n;
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    this.requests.push({ method, path });
    const m = /^\/_(ilm\/policy|ingest\/pipeline|index_template)\/([^/]+)$/.exec(path);
    try {
      if (method === 'GET' && path === '/') {
        return this.send(res, 200, { name: 'fake-node', cluster_name: 'otwatch-fake', cluster_uuid: 'fake', version: { number: '9.3.0', build_flavor: 'default', lucene_version: '10.0.0' }, tagline: 'You Know, for Search' });
      }
      if (method === 'PUT' && m) {
        const table = { 'ilm/policy': this.policies, 'ingest/pipeline': this.pipelines, index_template: this.templates }[m[1]]!;
        table.set(decodeURIComponent(m[2]), JSON.parse(body));
        return this.send(res, 200, { acknowledged: true });
      }
      if ((method === 'POST' || method === 'PUT') && /^(\/[^/]+)?\/_bulk$/.test(path)) return this.bulk(body, res);
      return this.send(res, 404, { error: { type: 'fake_unsupported', reason: `the fake does not serve ${method} ${path}` }, status: 404 });
    } catch (e) {
      return this.send(res, 400, { error: { type: 'parse_exception', reason: (e as Error).message }, status: 400 });
    }
  }

  private bulk(body: string, res: ServerResponse): void {
    this.bulkRequests++;
    if (this.failBulk && this.failBulk.remaining > 0) {
      this.failBulk.remaining--;
      const { status } = this.failBulk;
      return this.send(res, status, { error: { type: status === 429 ? 'es_rejected_execution_exception' : 'unavailable_shards_exception', reason: `fake: told to answer ${status}` }, status });
    }
    const lines = body.split('\n');
    const items: unknown[] = [];
    let errors = false;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i] === '') continue;
      const action = JSON.parse(lines[i]) as Record<string, { _index?: string; _id?: string }>;
      const op = Object.keys(action)[0];
      const meta = action[op];
      const doc = JSON.parse(lines[++i]) as Record<string, unknown>;
      const index = meta._index ?? '';
      const id = meta._id ?? `auto-${this.created + 1}`;
      const item = (status: number, error?: ItemError) => {
        if (error) errors = true;
        items.push({ [op]: { _index: index, _id: id, status, ...(error ? { error: { type: error.type, reason: error.reason } } : { result: 'created', _version: 1 }) } });
      };
      if (op !== 'create') {
        item(400, { status: 400, type: 'illegal_argument_exception', reason: `only write ops with an op_type of create are allowed in data streams (got ${op})` });
        continue;
      }
      if (this.throttleDocs > 0) {
        this.throttleDocs--;
        item(429, { status: 429, type: 'es_rejected_execution_exception', reason: 'fake: rejected execution (queue full)' });
        continue;
      }
      const rejected = this.opts.reject?.(doc, index) ?? null;
      if (rejected) {
        item(rejected.status, rejected);
        continue;
      }
      let stream = this.docs.get(index);
      if (!stream) this.docs.set(index, (stream = new Map()));
      if (this.opts.keep !== 'none' && stream.has(id)) {
        this.conflicts++;
        item(409, { status: 409, type: 'version_conflict_engine_exception', reason: `[${id}]: version conflict, document already exists (current version [1])` });
        continue;
      }
      if (this.opts.keep !== 'none') stream.set(id, this.opts.keep === 'ids' ? null : doc);
      this.created++;
      item(201);
    }
    this.send(res, 200, { took: 1, errors, items });
  }
}
