/**
 * The web UI (issue 9): the files Vite built into dist/ui, served at `/` with @fastify/static.
 * Any GET outside /api/ that is not a file answers index.html (the single-page app routes on the
 * client: /findings?severity=high, /assets/10.0.0.1 …). Without a build, `/` answers a 503 that
 * says how to build it rather than an empty page.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../errors.js';

/** The repository (or installed package) root: the nearest folder above this file with a package.json. */
function packageRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** Where `vite build --config ui/vite.config.ts` writes the UI. */
export const UI_DIR = join(packageRoot(), 'dist', 'ui');

/** Hashed bundle files never change under their name; index.html must be revalidated to pick up a new build. */
const IMMUTABLE = 'public, max-age=31536000, immutable';

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Register `/` and the SPA fallback. `dir` defaults to dist/ui (tests may point elsewhere). */
export async function uiRoutes(app: FastifyInstance, dir: string = UI_DIR): Promise<void> {
  const root = resolve(dir);
  // serve: false — only reply.sendFile; the one route below decides file or index.html, so every
  // route keeps declaring its role (public here) as app.ts requires.
  await app.register(fastifyStatic, { root, serve: false });

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    let path: string;
    try {
      path = decodeURIComponent(req.url.split('?')[0]);
    } catch {
      throw new ApiError('OTW_ERR_VALIDATION', 'the path is not valid percent-encoding', 'params.path');
    }
    if (path === '/api' || path.startsWith('/api/')) throw new ApiError('OTW_ERR_ROUTE_NOT_FOUND', `no route GET ${path}`);
    if (!isFile(join(root, 'index.html'))) {
      throw new ApiError('OTW_ERR_NOT_READY', 'the web UI is not built: run `npm run build:ui` (npx vite build --config ui/vite.config.ts), then restart otwatch serve');
    }
    // normalize + prefix check: `..` segments can never leave the UI folder.
    const file = normalize(join(root, path));
    if (path !== '/' && file.startsWith(root + sep) && isFile(file)) {
      const rel = file.slice(root.length + 1);
      return reply.header('cache-control', rel.startsWith('assets' + sep) ? IMMUTABLE : 'no-cache').sendFile(rel, { cacheControl: false });
    }
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').sendFile('index.html', { cacheControl: false });
  };
  const opts = { config: { public: true }, schema: { hide: true } };
  app.get('/', opts, handler);
  app.get('/*', opts, handler);
}
