/**
 * Settings → Thresholds (admin): the effective analyzer configuration of the server, read-only.
 * The analyzers read it when a run starts, so it changes in the config file, not here.
 */
import { get } from '../api.js';
import { Card, ErrorBox, Loading, useAsync } from './common.js';

interface Thresholds {
  source: string | null;
  config: Record<string, unknown>;
  defaults: Record<string, unknown>;
}

/** Flatten nested settings into dotted keys (connectFlood.max) for one row each. */
function flat(o: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(o).flatMap(([k, v]) => (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length ? flat(v as Record<string, unknown>, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]]));
}
const show = (v: unknown) => (Array.isArray(v) ? (v.length ? v.join(', ') : '—') : typeof v === 'object' && v !== null ? (Object.keys(v).length ? JSON.stringify(v) : '—') : String(v));

export function ThresholdsCard() {
  const t = useAsync(() => get<Thresholds>('/config/thresholds'), []);
  const defaults = new Map(t.data ? flat(t.data.defaults) : []);
  return (
    <Card title="Thresholds" id="s-thresholds">
      <p>
        Read-only: the analyzers read these when a run starts. Change them in the config file (see <code>docs/otwatch.example.jsonc</code>), check it with <code>otwatch config check</code>, and pass it
        with <code>--config</code>.
      </p>
      <ErrorBox error={t.error} />
      {!t.data ? (
        <Loading what="thresholds" />
      ) : (
        <>
          <p class="muted">Source: {t.data.source ? <code>{t.data.source}</code> : 'built-in defaults (the server has no --config file)'}</p>
          <table class="plain" aria-label="Effective analyzer thresholds">
            <thead>
              <tr>
                <th scope="col">Setting</th>
                <th scope="col">Value</th>
                <th scope="col">Default</th>
              </tr>
            </thead>
            <tbody>
              {flat(t.data.config).map(([k, v]) => (
                <tr key={k} data-setting={k} class={show(v) !== show(defaults.get(k)) ? 'changed' : ''}>
                  <th scope="row">
                    <code>{k}</code>
                  </th>
                  <td>{show(v)}</td>
                  <td class="muted">{show(defaults.get(k))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Card>
  );
}
