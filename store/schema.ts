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
  // 2: the API (issue 8): tokens, local users, sessions, audit log, triage history; an index of
  // findings by asset and a change feed (both kept by triggers, so writers need not know them).
  `
  ALTER TABLE findings ADD COLUMN assignee TEXT;
  CREATE INDEX findings_last_seen ON findings (last_seen, id);
  CREATE INDEX findings_first_seen ON findings (first_seen, id);
  CREATE INDEX findings_sev_last ON findings (severity, last_seen, id);
  CREATE INDEX findings_status_last ON findings (status, last_seen, id);
  CREATE INDEX findings_rule_last ON findings (rule, last_seen, id);
  CREATE INDEX findings_category_last ON findings (category, last_seen, id);
  CREATE INDEX findings_count ON findings (count, id);
  CREATE INDEX findings_severity_rank ON findings ((CASE severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END), id);
  CREATE TABLE finding_assets (
    finding_id TEXT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    ip TEXT NOT NULL,
    PRIMARY KEY (ip, finding_id)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO finding_assets (finding_id, ip) SELECT f.id, j.value FROM findings f, json_each(f.assets) j WHERE json_valid(f.assets);
  CREATE TABLE finding_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('new', 'changed')),
    ts TEXT NOT NULL
  );
  CREATE TRIGGER findings_ai AFTER INSERT ON findings BEGIN
    INSERT OR IGNORE INTO finding_assets (finding_id, ip) SELECT NEW.id, value FROM json_each(CASE WHEN json_valid(NEW.assets) THEN NEW.assets ELSE '[]' END);
    INSERT INTO finding_changes (finding_id, kind, ts) VALUES (NEW.id, 'new', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
  END;
  CREATE TRIGGER findings_au AFTER UPDATE ON findings BEGIN
    DELETE FROM finding_assets WHERE finding_id = NEW.id AND OLD.assets IS NOT NEW.assets;
    INSERT OR IGNORE INTO finding_assets (finding_id, ip) SELECT NEW.id, value FROM json_each(CASE WHEN json_valid(NEW.assets) THEN NEW.assets ELSE '[]' END) WHERE OLD.assets IS NOT NEW.assets;
    INSERT INTO finding_changes (finding_id, kind, ts) VALUES (NEW.id, 'changed', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
  END;
  CREATE TABLE finding_history (
    id INTEGER PRIMARY KEY,
    finding_id TEXT NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT,
    assignee TEXT,
    comment TEXT
  );
  CREATE INDEX finding_history_finding ON finding_history (finding_id, id);
  CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'auditor', 'admin')),
    hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    last_used TEXT,
    revoked TEXT
  );
  CREATE TABLE api_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'auditor', 'admin')),
    password TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
  );
  CREATE TABLE api_sessions (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES api_users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created TEXT NOT NULL,
    expires TEXT NOT NULL
  );
  CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    status INTEGER,
    ip TEXT,
    detail TEXT NOT NULL
  );
  `,
  // 3: compliance reports (issue 11): one row per report generated, with the inventory snapshot
  // and scores the next report of the same standard diffs against (SR 7.8, trends).
  `
  CREATE TABLE reports (
    id INTEGER PRIMARY KEY,
    standard TEXT NOT NULL,
    format TEXT NOT NULL,
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    zones TEXT NOT NULL,
    created TEXT NOT NULL,
    actor TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    inventory TEXT NOT NULL,
    scores TEXT NOT NULL
  );
  CREATE INDEX reports_standard ON reports (standard, id);
  `,
  // 4: the Elastic sink (issue 10): a durable outbox of ECS documents (totals kept by triggers, so
  // the size bound is checked without a scan), cursors and counters, the asset snapshots already
  // queued, and a dead-letter table for documents Elasticsearch refused.
  `
  CREATE TABLE sink_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('finding', 'finding_update', 'asset', 'mqtt', 'opcua')),
    doc_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    created TEXT NOT NULL
  );
  CREATE INDEX sink_outbox_kind ON sink_outbox (kind, seq);
  CREATE TABLE sink_outbox_totals (id INTEGER PRIMARY KEY CHECK (id = 1), rows INTEGER NOT NULL, bytes INTEGER NOT NULL);
  INSERT INTO sink_outbox_totals (id, rows, bytes) VALUES (1, 0, 0);
  CREATE TRIGGER sink_outbox_ai AFTER INSERT ON sink_outbox BEGIN
    UPDATE sink_outbox_totals SET rows = rows + 1, bytes = bytes + NEW.bytes WHERE id = 1;
  END;
  CREATE TRIGGER sink_outbox_ad AFTER DELETE ON sink_outbox BEGIN
    UPDATE sink_outbox_totals SET rows = rows - 1, bytes = bytes - OLD.bytes WHERE id = 1;
  END;
  CREATE TABLE sink_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE sink_asset_state (ip TEXT PRIMARY KEY, hash TEXT NOT NULL);
  CREATE TABLE sink_dead_letters (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    index_name TEXT NOT NULL,
    status INTEGER NOT NULL,
    error_type TEXT,
    reason TEXT NOT NULL,
    doc TEXT NOT NULL,
    created TEXT NOT NULL,
    retried TEXT
  );
  CREATE INDEX sink_dead_letters_open ON sink_dead_letters (retried, id);
  `,
  // 5: the process model (issue 13): one row per tag (last value, quality, timestamps, asset,
  // last writer) and its downsampled history (store/tags.ts trims it to the configured points).
  `
  CREATE TABLE tags (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    value TEXT,
    num REAL,
    type TEXT,
    quality TEXT,
    source_ts TEXT,
    server_ts TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    asset TEXT,
    writer TEXT,
    updates INTEGER NOT NULL
  );
  CREATE INDEX tags_source ON tags (source, key);
  CREATE INDEX tags_asset ON tags (asset, key);
  CREATE TABLE tag_history (
    tag_id TEXT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    ts TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (tag_id, ts)
  ) WITHOUT ROWID;
  `,
  // 6: the MAC address each asset sends from, and its vendor from the IEEE OUI registry (issue 5).
  `
  ALTER TABLE assets ADD COLUMN mac TEXT;
  ALTER TABLE assets ADD COLUMN mac_vendor TEXT;
  CREATE INDEX assets_mac ON assets (mac);
  `,
  // 7: findings by asset and the Overview's aggregates from index walks (issues 8 and 9):
  // finding_assets carries its finding's last_seen, status and severity (kept by the triggers), so
  // `?asset=` reads a page's keys from (ip, last_seen, finding_id) instead of looking up and sorting
  // every finding of the asset, and "open findings per asset" counts one covering index instead of
  // joining every finding (30 s on the 1 M-finding bench store). Covering indexes for the open
  // findings by category and by rule, and for the timeline. The open-findings ones are partial
  // (WHERE status = 'open'): only a query naming that literal can use them, so the findings
  // list, which binds its filters, keeps walking its (filter, last_seen, id) indexes in order
  // (full indexes led by status made SQLite sort 950,000 rows for ?status=open). The change
  // feed is capped.
  `
  ALTER TABLE finding_assets ADD COLUMN last_seen TEXT;
  ALTER TABLE finding_assets ADD COLUMN status TEXT;
  ALTER TABLE finding_assets ADD COLUMN severity TEXT;
  UPDATE finding_assets SET last_seen = f.last_seen, status = f.status, severity = f.severity FROM findings f WHERE f.id = finding_assets.finding_id;
  CREATE INDEX finding_assets_ip_last ON finding_assets (ip, last_seen, finding_id);
  CREATE INDEX finding_assets_finding ON finding_assets (finding_id);
  CREATE INDEX finding_assets_open ON finding_assets (ip, severity) WHERE status = 'open';
  CREATE INDEX findings_open_category ON findings (category) WHERE status = 'open';
  CREATE INDEX findings_open_rule ON findings (rule, severity) WHERE status = 'open';
  CREATE INDEX findings_first_severity ON findings (first_seen, severity);
  DROP TRIGGER findings_ai;
  DROP TRIGGER findings_au;
  CREATE TRIGGER findings_ai AFTER INSERT ON findings BEGIN
    INSERT OR IGNORE INTO finding_assets (finding_id, ip, last_seen, status, severity) SELECT NEW.id, value, NEW.last_seen, NEW.status, NEW.severity FROM json_each(CASE WHEN json_valid(NEW.assets) THEN NEW.assets ELSE '[]' END);
    INSERT INTO finding_changes (finding_id, kind, ts) VALUES (NEW.id, 'new', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
  END;
  CREATE TRIGGER findings_au AFTER UPDATE ON findings BEGIN
    DELETE FROM finding_assets WHERE finding_id = NEW.id AND OLD.assets IS NOT NEW.assets;
    INSERT OR IGNORE INTO finding_assets (finding_id, ip, last_seen, status, severity) SELECT NEW.id, value, NEW.last_seen, NEW.status, NEW.severity FROM json_each(CASE WHEN json_valid(NEW.assets) THEN NEW.assets ELSE '[]' END) WHERE OLD.assets IS NOT NEW.assets;
    UPDATE finding_assets SET last_seen = NEW.last_seen, status = NEW.status, severity = NEW.severity
      WHERE finding_id = NEW.id AND (OLD.last_seen IS NOT NEW.last_seen OR OLD.status IS NOT NEW.status OR OLD.severity IS NOT NEW.severity);
    INSERT INTO finding_changes (finding_id, kind, ts) VALUES (NEW.id, 'changed', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
  END;
  -- The change feed keeps its last 100,000 entries (it grew by one row per finding update for
  -- ever); a stream resuming from before them is told so (api/routes/findings.ts).
  CREATE TRIGGER finding_changes_cap AFTER INSERT ON finding_changes BEGIN
    DELETE FROM finding_changes WHERE seq <= NEW.seq - 100000;
  END;
  `,
  // 8: the findings list sorted by count, severity or first seen under a status filter (the
  // triage view: open findings, noisiest first) walked every open finding and sorted them in a
  // temporary b-tree: 3–14 s on the 1 M-finding bench store. (status, sort key, id) indexes let
  // that page come in order; store/apistore.ts names them (INDEXED BY) when status is the only
  // filter, as it names the last_seen indexes. /metrics counts by (status, severity rank) from
  // the last one.
  `
  CREATE INDEX findings_status_count ON findings (status, count, id);
  CREATE INDEX findings_status_first ON findings (status, first_seen, id);
  CREATE INDEX findings_status_severity ON findings (status, (CASE severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END), id);
  `,
];
