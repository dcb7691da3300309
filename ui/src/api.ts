/**
 * The API client: same-origin fetches under /api/v1 with the session cookie, the CSRF header on
 * every write (double submit, api/README.md), and errors as ApiFailure with the API's stable code.
 */

export const API = '/api/v1';

/** An error answer of the API (`{statusCode, code, message}`) or a network failure (code OTW_UI_NETWORK). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Role = 'viewer' | 'analyst' | 'auditor' | 'admin';
export interface Me {
  name: string;
  kind: string;
  role: Role;
}
export interface Page<T> {
  items: T[];
  next: string | null;
}

const RANK: Record<Role, number> = { viewer: 0, analyst: 1, auditor: 1, admin: 2 };

/** Whether `role` may use a route that needs `need` (analyst and auditor are siblings, admin has both). */
export function can(role: Role | undefined, need: Role): boolean {
  if (!role) return false;
  if (role === 'admin') return true;
  return role === need || (need === 'viewer' && RANK[role] >= 0);
}

/** Called on 401 so the app can show the login page. */
let onUnauthenticated: () => void = () => {};
export function setUnauthenticatedHandler(fn: () => void): void {
  onUnauthenticated = fn;
}

/** The CSRF token is the readable `otw_csrf` cookie set at login (it survives reloads, unlike memory). */
function csrf(): string {
  const m = /(?:^|;\s*)otw_csrf=([^;]+)/.exec(document.cookie);
  return m ? decodeURIComponent(m[1]) : '';
}

/** Query values: arrays repeat the parameter (severity=high&severity=critical), empty ones are left out. */
export function qs(q: Record<string, string | number | string[] | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    for (const x of Array.isArray(v) ? v : [v]) p.append(k, String(x));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf();
  let res: Response;
  try {
    res = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiFailure(0, 'OTW_UI_NETWORK', `the server cannot be reached (${(e as Error).message})`);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const e = (data ?? {}) as { code?: string; message?: string };
    if (res.status === 401 && path !== '/login') onUnauthenticated();
    throw new ApiFailure(res.status, e.code ?? 'OTW_UI_HTTP', e.message ?? `${res.status} ${res.statusText}`);
  }
  return data as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => request<T>('GET', path, undefined, signal);
export const post = <T>(path: string, body: unknown) => request<T>('POST', path, body);
export const del = <T>(path: string) => request<T>('DELETE', path);
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);

/** Every page of a list (cursor loop), up to `max` items: for the small inventory tables. */
export async function all<T>(path: string, query: Record<string, string | number | string[] | undefined> = {}, max = 5000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const p = await get<Page<T>>(path + qs({ ...query, limit: 500, cursor }));
    out.push(...p.items);
    cursor = p.next ?? undefined;
  } while (cursor && out.length < max);
  return out;
}
