/** Small shared pieces: links that route in-app, severity badges, async loading with error display. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure } from '../api.js';
import { onLinkClick } from '../router.js';

export function Link(props: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined; title?: string }) {
  return (
    <a href={props.href} class={props.class} onClick={onLinkClick} aria-current={props['aria-current']} title={props.title}>
      {props.children}
    </a>
  );
}

export function Sev({ s }: { s: string }) {
  return <span class={`sev sev-${s}`}>{s}</span>;
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiFailure ? `${error.message} (${error.code})` : String((error as Error).message ?? error);
  return (
    <p class="error" role="alert">
      {e}
    </p>
  );
}

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Run `fn` when `deps` change; the latest answer wins (an older, slower one is ignored). */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, set] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    set((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => live && set({ data, loading: false }),
      (error: unknown) => live && set({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data: state.data, error: state.error, loading: state.loading, reload: () => setTick((t) => t + 1) };
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A titled section card. */
export function Card(props: { title: string; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={`card ${props.class ?? ''}`} aria-labelledby={props.id ? `${props.id}-h` : undefined}>
      <h2 id={props.id ? `${props.id}-h` : undefined}>{props.title}</h2>
      {props.children}
    </section>
  );
}
