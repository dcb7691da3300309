/** Settings (admin): API tokens (list, create — the secret shown once —, revoke), users (components/UsersCard) and the effective thresholds (components/ThresholdsCard). */
import { useState } from 'preact/hooks';
import { del, get, post } from '../api.js';
import { Card, ErrorBox, Loading, useAsync } from '../components/common.js';
import { ThresholdsCard } from '../components/ThresholdsCard.js';
import { UsersCard } from '../components/UsersCard.js';
import { time } from '../format.js';
import type { PageProps } from '../main.js';

interface Token {
  id: number;
  name: string;
  role: string;
  created: string;
  createdBy: string;
  lastUsed: string | null;
  revoked: string | null;
}

export function Settings({ me }: PageProps) {
  const tokens = useAsync(() => get<{ items: Token[] }>('/tokens').then((r) => r.items), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const act = async (fn: () => Promise<void>) => {
    setError(null);
    try {
      await fn();
      tokens.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div class="settings">
      <h1>Settings</h1>
      <Card title="API tokens" id="s-tokens">
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const t = await post<Token & { token: string }>('/tokens', { name: name.trim(), role });
              setSecret(t.token);
              setName('');
            });
          }}
        >
          <label>
            Name
            <input required pattern="[A-Za-z0-9._\-]+" value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
              {['viewer', 'analyst', 'auditor', 'admin'].map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <button type="submit">Create token</button>
        </form>
        {secret ? (
          <p class="secret" role="status">
            New token (shown once, copy it now): <code>{secret}</code>
          </p>
        ) : null}
        <ErrorBox error={error ?? tokens.error} />
        {!tokens.data ? (
          <Loading what="tokens" />
        ) : (
          <table class="plain">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Created (UTC)</th>
                <th scope="col">By</th>
                <th scope="col">Last used</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>{t.role}</td>
                  <td>{time(t.created)}</td>
                  <td>{t.createdBy}</td>
                  <td>{time(t.lastUsed)}</td>
                  <td>
                    {t.revoked ? (
                      `revoked ${time(t.revoked)}`
                    ) : (
                      <button type="button" class="small ghost" aria-label={`Revoke token ${t.name}`} onClick={() => void act(() => del(`/tokens/${t.id}`))}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <UsersCard me={me} />
      <ThresholdsCard />
    </div>
  );
}
