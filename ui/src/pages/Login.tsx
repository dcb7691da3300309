/** Login with a local user (otwatch user add): POST /api/v1/login sets the session and CSRF cookies. */
import { useState } from 'preact/hooks';
import { post } from '../api.js';
import { ErrorBox } from '../components/common.js';

export function Login({ onLogin }: { onLogin: () => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await post('/login', { user, password });
      onLogin();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="login-h">
        <h1 id="login-h">otwatch</h1>
        <p class="muted">Passive security monitoring for MQTT and OPC UA networks</p>
        <label>
          User
          <input name="user" autoComplete="username" required value={user} onInput={(e) => setUser(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <ErrorBox error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
