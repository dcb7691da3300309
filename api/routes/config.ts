/**
 * `GET /api/v1/config/thresholds` (admin): the effective analyzer configuration of the server's
 * config file (`otwatch serve --config FILE`), merged over the defaults by analyzers/config.ts, or
 * the defaults when the server has none. Read-only: the analyzers read it when a run starts, so
 * it changes in the file (docs/otwatch.example.jsonc; check it with `otwatch config check`).
 */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { ApiError } from '../errors.js';
import { DEFAULT_CONFIG, loadConfigFile, type AnalyzerConfig } from '../../analyzers/config.js';
import { errors } from '../schemas.js';

/**
 * The file's analyzer keys merged over the defaults, read as `otwatch analyze --config` reads
 * them (analyzers/config.ts: the one file's `analyzer` section, or a single-command file).
 */
function effective(file: string | null): AnalyzerConfig {
  if (!file) return structuredClone(DEFAULT_CONFIG);
  try {
    return loadConfigFile(file);
  } catch (e) {
    throw new ApiError('OTW_ERR_INTERNAL', `the server's config file does not read: ${(e as Error).message}`);
  }
}

export async function configRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  app.get(
    '/config/thresholds',
    {
      config: { role: 'admin' },
      schema: {
        tags: ['config'],
        summary: 'The effective analyzer thresholds and caps (read-only; edit the config file)',
        response: {
          200: {
            type: 'object',
            required: ['source', 'config', 'defaults'],
            properties: {
              source: { type: ['string', 'null'], description: 'the config file, null: defaults only' },
              config: { type: 'object', additionalProperties: true },
              defaults: { type: 'object', additionalProperties: true },
            },
          },
          ...errors(),
        },
      },
    },
    async () => ({ source: ctx.opts.reportsConfig, config: effective(ctx.opts.reportsConfig), defaults: DEFAULT_CONFIG }),
  );
}
