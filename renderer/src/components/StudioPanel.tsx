import { useEffect, useState } from 'react';
import { formatUsd, type StudioStatus } from '../../../src/contract/index.js';
import { api } from '../bridge.js';
import { describeError } from '../store/errors.js';
import { Panel } from './Panel.js';

/** Studio mode: one shared policy and ledger in the studio's PostgreSQL database. */
export function StudioPanel() {
  const [status, setStatus] = useState<StudioStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [form, setForm] = useState({ url: '', studioId: '', member: '', password: '' });

  const run = async (op: () => Promise<StudioStatus>) => {
    setBusy(true);
    try {
      setStatus(await op());
      setError(null);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    let live = true;
    api.call('studio.status', {}).then(
      (s) => live && setStatus(s),
      (e: unknown) => live && setError(describeError(e)),
    );
    return () => {
      live = false;
    };
  }, []);

  const policy = status?.policy;
  return (
    <Panel title="Studio">
      {status && <p className={status.configured && !status.online ? 'warn' : 'muted'} data-testid="studio-status">{status.message}</p>}
      {policy && (
        <ul className="facts-list small">
          <li>Studio cap: {policy.studioMonthlyCapUsd === null ? 'none' : `${formatUsd(policy.studioMonthlyCapUsd)} a month`}</li>
          <li>Per member: {policy.memberMonthlyLimitUsd === null ? 'no limit' : `${formatUsd(policy.memberMonthlyLimitUsd)} a month`}</li>
          <li>Max per image: {policy.maxPricePerImageUsd === null ? 'none' : formatUsd(policy.maxPricePerImageUsd)}</li>
          <li>Providers: {policy.allowedProviders?.join(', ') ?? 'all'}</li>
          <li>When the database is unreachable: {policy.offlineRule === 'block' ? 'paid finals are blocked' : `${formatUsd(policy.offlineAllowanceUsd)} per seat`}</li>
        </ul>
      )}
      {status?.pendingSync ? <p className="warn small">{status.pendingSync} offline row(s) waiting to sync.</p> : null}
      {status?.configured ? (
        <button type="button" disabled={busy} onClick={() => void run(() => api.call('studio.disconnect', {}))}>
          Leave studio
        </button>
      ) : (
        <form
          className="studio-form"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => api.call('studio.connect', { url: form.url, studioId: form.studioId, member: form.member, ...(form.password ? { password: form.password } : {}) }));
          }}
        >
          <input aria-label="Studio database URL" placeholder="postgresql://user@db.studio.local:5432/imagebench" value={form.url} onChange={(e) => setForm({ ...form, url: e.target.value })} />
          <input aria-label="Studio id" placeholder="studio id" value={form.studioId} onChange={(e) => setForm({ ...form, studioId: e.target.value })} />
          <input aria-label="Your name" placeholder="your name" value={form.member} onChange={(e) => setForm({ ...form, member: e.target.value })} />
          <input aria-label="Database password" type="password" autoComplete="off" placeholder="password (kept in the keychain)" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
          <button type="submit" disabled={busy || !form.url || !form.studioId || !form.member}>
            Join studio
          </button>
        </form>
      )}
      {error && <p className="error">{error}</p>}
    </Panel>
  );
}
