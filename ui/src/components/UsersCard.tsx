/**
 * Settings → Users (admin): the local users with role and last login; add one, change a role,
 * reset a password (ends that user's sessions), remove. The server refuses an admin removing or
 * demoting themself (409); the page does not offer it either.
 */
import { useState } from 'preact/hooks';
import { del, get, post, put, type Me } from '../api.js';
import { Card, ErrorBox, Loading, useAsync } from './common.js';
import { time } from '../format.js';

const ROLES = ['viewer', 'analyst', 'auditor', 'admin'] as const;
/** The server's rule (api/auth.ts PASSWORD_MIN): checked by the browser first, by the API always. */
const PASSWORD_MIN = 12;

interface User {
  name: string;
  role: string;
  created: string;
  lastLogin: string | null;
}

export function UsersCard({ me }: { me: Me }) {
  const users = useAsync(() => get<{ items: User[] }>('/users').then((r) => r.items), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [password, setPassword] = useState('');
  const [reset, setReset] = useState<{ user: string; password: string } | null>(null);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<unknown>(null);
  const self = me.kind === 'session' && me.name.startsWith('user:') ? me.name.slice(5) : null;
  const act = async (done: string, fn: () => Promise<unknown>) => {
    setError(null);
    setStatus('');
    try {
      await fn();
      setStatus(done);
      users.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Card title="Users" id="s-users">
      <form
        class="inline"
        aria-label="Add a user"
        onSubmit={(e) => {
          e.preventDefault();
          const n = name.trim();
          void act(`added ${n}`, async () => {
            await post('/users', { name: n, role, password });
            setName('');
            setPassword('');
          });
        }}
      >
        <label>
          User name
          <input required pattern="[A-Za-z0-9._@\-]+" maxLength={128} autocomplete="off" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Password ({PASSWORD_MIN}+ characters)
          <input type="password" required minLength={PASSWORD_MIN} maxLength={1024} autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <button type="submit">Add user</button>
      </form>
      {status ? (
        <p role="status" class="muted">
          {status}
        </p>
      ) : null}
      <ErrorBox error={error ?? users.error} />
      {reset ? (
        <form
          class="inline"
          aria-label={`New password for ${reset.user}`}
          onSubmit={(e) => {
            e.preventDefault();
            void act(`password of ${reset.user} changed; their sessions ended`, async () => {
              await put(`/users/${encodeURIComponent(reset.user)}/password`, { password: reset.password });
              setReset(null);
            });
          }}
        >
          <label>
            New password for {reset.user}
            <input type="password" required minLength={PASSWORD_MIN} maxLength={1024} autocomplete="new-password" value={reset.password} onInput={(e) => setReset({ user: reset.user, password: e.currentTarget.value })} />
          </label>
          <button type="submit">Set password</button>
          <button type="button" class="ghost" onClick={() => setReset(null)}>
            Cancel
          </button>
        </form>
      ) : null}
      {!users.data ? (
        <Loading what="users" />
      ) : (
        <table class="plain">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Created (UTC)</th>
              <th scope="col">Last login</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.data.map((u) => (
              <tr key={u.name} data-user={u.name}>
                <td>{u.name}</td>
                <td>
                  {u.name === self ? (
                    `${u.role} (you)`
                  ) : (
                    <select aria-label={`Role of ${u.name}`} value={u.role} onChange={(e) => void act(`${u.name} is now ${e.currentTarget.value}`, () => put(`/users/${encodeURIComponent(u.name)}/role`, { role: e.currentTarget.value }))}>
                      {ROLES.map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  )}
                </td>
                <td>{time(u.created)}</td>
                <td>{u.lastLogin ? time(u.lastLogin) : 'never'}</td>
                <td>
                  <button type="button" class="small ghost" aria-label={`Reset password of ${u.name}`} onClick={() => setReset({ user: u.name, password: '' })}>
                    Reset password
                  </button>{' '}
                  {u.name === self ? null : (
                    <button
                      type="button"
                      class="small ghost"
                      aria-label={`Remove user ${u.name}`}
                      onClick={() => {
                        if (confirm(`Remove ${u.name} and end their sessions?`)) void act(`removed ${u.name}`, () => del(`/users/${encodeURIComponent(u.name)}`));
                      }}
                    >
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
