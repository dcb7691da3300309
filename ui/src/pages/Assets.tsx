/** Assets: the inventory table (keyboard-navigable) and one asset's page: identities, roles, protocols, peers, topics or nodes, certificates, findings. */
import { useMemo, useState } from 'preact/hooks';
import { all, get } from '../api.js';
import { Card, ErrorBox, Link, Loading, Sev, useAsync } from '../components/common.js';
import { VirtualTable, type Column } from '../components/VirtualTable.js';
import { bytes, int, SEVERITIES, time } from '../format.js';
import type { PageProps } from '../main.js';
import { navigate, setQuery } from '../router.js';
import type { FindingSummary } from './Findings.js';

export interface Asset {
  ip: string;
  firstSeen: string;
  lastSeen: string;
  roles: string[];
  protocols: string[];
  serverPorts: number[];
  identities: string[];
  messages: number;
  /** The MAC the asset sends from and its IEEE vendor, when the capture had a link layer. */
  mac?: string | null;
  macVendor?: string | null;
}
export interface Connection {
  client: string;
  server: string;
  port: number;
  proto: string;
  firstSeen: string;
  lastSeen: string;
  flows: number;
  packets: number;
  bytes: number;
}

const COLUMNS: Column<Asset>[] = [
  { key: 'ip', label: 'Address', render: (a) => <Link href={`/assets/${encodeURIComponent(a.ip)}`}>{a.ip}</Link> },
  { key: 'roles', label: 'Roles', render: (a) => a.roles.join(', ') },
  { key: 'protocols', label: 'Protocols', render: (a) => a.protocols.join(', ') },
  { key: 'vendor', label: 'Vendor (MAC)', render: (a) => (a.mac ? <span title={a.mac}>{a.macVendor ?? a.mac}</span> : '—') },
  { key: 'ids', label: 'Identities', cls: 'c-title', render: (a) => <span title={a.identities.join('\n')}>{a.identities.slice(0, 3).join(', ')}{a.identities.length > 3 ? ` +${a.identities.length - 3}` : ''}</span> },
  { key: 'last', label: 'Last seen (UTC)', cls: 'c-time', render: (a) => time(a.lastSeen) },
  { key: 'msgs', label: 'Messages', cls: 'num', render: (a) => int(a.messages) },
];

export function Assets({ route }: PageProps) {
  const role = route.query.get('role') ?? '';
  const protocol = route.query.get('protocol') ?? '';
  const list = useAsync(() => all<Asset>('/assets', { role, protocol }), [role, protocol]);
  const [active, setActive] = useState(0);
  return (
    <div class="assets">
      <h1>Assets</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label>
          Role
          <input name="role" value={role} placeholder="e.g. opcua-server" onChange={(e) => setQuery({ role: e.currentTarget.value.trim() })} />
        </label>
        <label>
          Protocol
          <select name="protocol" value={protocol} onChange={(e) => setQuery({ protocol: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="mqtt">mqtt</option>
            <option value="opcua">opcua</option>
          </select>
        </label>
      </form>
      <ErrorBox error={list.error} />
      {list.data ? (
        <>
          <p class="listinfo">{list.data.length} assets</p>
          <VirtualTable rows={list.data} columns={COLUMNS} rowKey={(a) => a.ip} label="Assets" active={active} onActive={setActive} onOpen={(a) => navigate(`/assets/${encodeURIComponent(a.ip)}`)} />
        </>
      ) : (
        <Loading what="assets" />
      )}
    </div>
  );
}

interface AssetDetail {
  asset: Asset;
  findings: Record<string, number>;
}
interface Topic {
  broker: string;
  topic: string;
  clientId: string;
  ip: string;
  role: string;
  count: number;
}
interface NodeRow {
  server: string;
  nodeId: string;
  client: string;
  access: string;
  count: number;
}
interface Cert {
  thumbprint: string;
  subject: string;
  owner: string;
  notAfter: string | null;
  source: string;
}

/** The address of `host:port`, `[v6]:port` or a bare address (a bare IPv6 address has several colons and no port). */
export function host(s: string): string {
  const b = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (b) return b[1];
  return s.split(':').length === 2 ? s.replace(/:\d+$/, '') : s;
}

export function AssetPage({ params }: PageProps) {
  const ip = params[0];
  const d = useAsync(async () => {
    const [a, matrix, topics, nodes, certs, findings] = await Promise.all([
      get<AssetDetail>(`/assets/${encodeURIComponent(ip)}`),
      all<Connection>('/matrix'),
      all<Topic>('/mqtt/topics'),
      all<NodeRow>('/opcua/nodes'),
      all<Cert>('/certificates'),
      get<{ items: FindingSummary[] }>(`/assets/${encodeURIComponent(ip)}/findings?limit=100`),
    ]);
    return {
      ...a,
      peers: matrix.filter((c) => c.client === ip || c.server === ip),
      topics: topics.filter((t) => t.ip === ip || host(t.broker) === ip),
      nodes: nodes.filter((n) => host(n.server) === ip || n.client === ip),
      certs: certs.filter((c) => host(c.owner) === ip),
      list: findings.items,
    };
  }, [ip]);
  const open = useMemo(() => (d.data ? SEVERITIES.map((s) => [s, d.data!.findings[s] ?? 0] as const) : []), [d.data]);
  if (d.error) return <ErrorBox error={d.error} />;
  if (!d.data) return <Loading what={`asset ${ip}`} />;
  const a = d.data.asset;
  return (
    <div class="asset">
      <p class="crumbs">
        <Link href="/assets">Assets</Link> / {ip}
      </p>
      <h1>Asset {ip}</h1>
      <div class="grid2">
        <Card title="Identity" id="a-id">
          <dl class="facts">
            <dt>Roles</dt>
            <dd>{a.roles.join(', ') || '—'}</dd>
            <dt>Protocols</dt>
            <dd>{a.protocols.join(', ') || '—'}</dd>
            <dt>Server ports</dt>
            <dd>{a.serverPorts.join(', ') || '—'}</dd>
            <dt>MAC</dt>
            <dd>{a.mac ? `${a.mac}${a.macVendor ? ` (${a.macVendor})` : ''}` : '—'}</dd>
            <dt>Identities</dt>
            <dd>
              <ul class="plainlist">
                {a.identities.map((i) => (
                  <li key={i} class="wrap">
                    {i}
                  </li>
                ))}
              </ul>
            </dd>
            <dt>Seen</dt>
            <dd>
              {time(a.firstSeen)} → {time(a.lastSeen)} · {int(a.messages)} messages
            </dd>
            <dt>Open findings</dt>
            <dd>
              {open.map(([s, n]) => (
                <span key={s} class="gap">
                  <Sev s={s} /> {n}
                </span>
              ))}
            </dd>
          </dl>
        </Card>
        <Card title={`Peers (${d.data.peers.length})`} id="a-peers">
          <table class="plain">
            <thead>
              <tr>
                <th scope="col">Client</th>
                <th scope="col">Server</th>
                <th scope="col">Protocol</th>
                <th scope="col" class="num">Flows</th>
                <th scope="col" class="num">Bytes</th>
              </tr>
            </thead>
            <tbody>
              {d.data.peers.map((c) => (
                <tr key={`${c.client}-${c.server}-${c.port}-${c.proto}`}>
                  <td>{c.client === ip ? c.client : <Link href={`/assets/${encodeURIComponent(c.client)}`}>{c.client}</Link>}</td>
                  <td>{c.server === ip ? `${c.server}:${c.port}` : <Link href={`/assets/${encodeURIComponent(c.server)}`}>{`${c.server}:${c.port}`}</Link>}</td>
                  <td>{c.proto}</td>
                  <td class="num">{c.flows}</td>
                  <td class="num">{bytes(c.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
        <Card title={`MQTT topics (${d.data.topics.length})`} id="a-topics">
          {d.data.topics.length ? (
            <ul class="plainlist scroll">
              {d.data.topics.slice(0, 200).map((t) => (
                <li key={`${t.broker}${t.topic}${t.clientId}${t.role}`}>
                  <code>{t.topic}</code> <span class="muted">{t.role} · {t.clientId || '(no client id)'} · {t.count}×</span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">None.</p>
          )}
        </Card>
        <Card title={`OPC UA nodes (${d.data.nodes.length})`} id="a-nodes">
          {d.data.nodes.length ? (
            <ul class="plainlist scroll">
              {d.data.nodes.slice(0, 200).map((n) => (
                <li key={`${n.server}${n.nodeId}${n.client}${n.access}`}>
                  <code>{n.nodeId}</code> <span class="muted">{n.access} by {n.client} · {n.count}×</span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">None.</p>
          )}
        </Card>
        <Card title={`Certificates (${d.data.certs.length})`} id="a-certs">
          {d.data.certs.length ? (
            <ul class="plainlist">
              {d.data.certs.map((c) => (
                <li key={c.thumbprint}>
                  {c.subject} <span class="muted">expires {time(c.notAfter)} · {c.source}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">None seen.</p>
          )}
        </Card>
        <Card title={`Findings (${d.data.list.length})`} id="a-findings">
          {d.data.list.length ? (
            <ul class="plainlist scroll">
              {d.data.list.map((f) => (
                <li key={f.id}>
                  <Sev s={f.severity} /> <Link href={`/findings?asset=${encodeURIComponent(ip)}&sel=${encodeURIComponent(f.id)}`}>{f.title}</Link> <span class="muted">{f.status}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">None.</p>
          )}
        </Card>
      </div>
    </div>
  );
}
