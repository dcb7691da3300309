/**
 * The store's schema, as numbered migrations applied in order inside one transaction each; the
 * `schema_version` table holds the version reached. Migrations never change once shipped: a
 * change is a new migration.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'interrupted', 'failed')),
    pid INTEGER NOT NULL,
    mode TEXT NOT NULL,
    captures TEXT NOT NULL,
    first_ts TEXT,
    last_ts TEXT,
    packets INTEGER,
    events INTEGER,
    flows INTEGER,
    stats TEXT
  );
  CREATE TABLE assets (
    ip TEXT PRIMARY KEY,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    roles TEXT NOT NULL,
    protocols TEXT NOT NULL,
    server_ports TEXT NOT NULL,
    identities TEXT NOT NULL,
    messages INTEGER NOT NULL
  );
  CREATE TABLE connections (
    client TEXT NOT NULL,
    server TEXT NOT NULL,
    port INTEGER NOT NULL,
    proto TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    flows INTEGER NOT NULL,
    packets INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    PRIMARY KEY (client, server, port, proto)
  );
  CREATE TABLE mqtt_topics (
    broker TEXT NOT NULL,
    topic TEXT NOT NULL,
    client_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('publisher', 'subscriber')),
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (broker, topic, client_id, role)
  );
  CREATE TABLE opcua_nodes (
    server TEXT NOT NULL,
    node_id TEXT NOT NULL,
    client TEXT NOT NULL,
    access TEXT NOT NULL CHECK (access IN ('reader', 'writer', 'caller')),
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (server, node_id, client, access)
  );
  CREATE TABLE certificates (
    thumbprint TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    issuer TEXT NOT NULL,
    not_before TEXT,
    not_after TEXT,
    key_type TEXT,
    key_size INTEGER,
    signature_algorithm TEXT,
    san_uris TEXT NOT NULL,
    owner TEXT NOT NULL,
    source TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    count INTEGER NOT NULL
  );
  CREATE TABLE findings (
    id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    subject TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    count INTEGER NOT NULL,
    flow TEXT,
    assets TEXT NOT NULL,
    attack TEXT NOT NULL,
    standards TEXT NOT NULL,
    details TEXT NOT NULL,
    evidence_dropped INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'open',
    first_run INTEGER NOT NULL REFERENCES runs(id),
    last_run INTEGER NOT NULL REFERENCES runs(id)
  );
  CREATE INDEX findings_severity ON findings (severity, last_seen);
  CREATE INDEX findings_rule ON findings (rule);
  CREATE TABLE evidence (
    finding_id TEXT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    run_id INTEGER NOT NULL,
    ts TEXT NOT NULL,
    flow TEXT,
    frame INTEGER,
    type TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (finding_id, seq)
  );
  CREATE TABLE baseline (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    data TEXT,
    origin TEXT NOT NULL CHECK (origin IN ('learned', 'approved', 'imported')),
    updated TEXT NOT NULL,
    PRIMARY KEY (kind, key)
  );
  `,
];
