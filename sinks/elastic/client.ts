/** The official Elasticsearch client, configured from the `elastic` section (TLS files read once). */
import { readFileSync } from 'node:fs';
import { Client } from '@elastic/elasticsearch';
import { ElasticConfigError, type ElasticConfig } from './config.js';

type ClientOptions = NonNullable<ConstructorParameters<typeof Client>[0]>;

function file(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ElasticConfigError(`${what} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

/**
 * A client for the configured cluster. The client's own retries are off (`maxRetries: 0`): the
 * shipper retries whole batches itself, with exponential backoff and jitter, from the outbox.
 * `extra` lets tests plug in @elastic/elasticsearch-mock's connection.
 */
export function elasticClient(cfg: ElasticConfig, extra: Partial<ClientOptions> = {}): Client {
  const tls: NonNullable<ClientOptions['tls']> = {};
  if (cfg.caFile) tls.ca = file(cfg.caFile, 'elastic.caFile');
  if (cfg.clientCertFile && cfg.clientKeyFile) {
    tls.cert = file(cfg.clientCertFile, 'elastic.clientCertFile');
    tls.key = file(cfg.clientKeyFile, 'elastic.clientKeyFile');
  }
  return new Client({
    node: cfg.url,
    ...(cfg.auth ? { auth: cfg.auth } : {}),
    ...(Object.keys(tls).length ? { tls } : {}),
    maxRetries: 0,
    requestTimeout: cfg.requestTimeoutMs,
    compression: false,
    ...extra,
  });
}
