import { useEffect, useState } from 'react';
import type { DoctorReport } from '../../../src/contract/index.js';
import { api } from '../bridge.js';
import { KeyRow } from '../components/KeyRow.js';
import { ModelsPanel } from '../components/ModelsPanel.js';
import { PreferencesPanel } from '../components/PreferencesPanel.js';
import { StudioPanel } from '../components/StudioPanel.js';
import { Panel } from '../components/Panel.js';
import { describeError } from '../store/errors.js';
import { useKeys } from '../store/keys.js';
import { useSettings } from '../store/settings.js';

export function SettingsScreen() {
  return (
    <div className="stack">
      <KeysPanel />
      <ModelsPanel />
      <PreferencesPanel />
      <StudioPanel />
      <AppearancePanel />
      <SystemPanel />
    </div>
  );
}

function KeysPanel() {
  const providers = useKeys((s) => s.providers);
  const load = useKeys((s) => s.load);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    load().catch((e: unknown) => setError(describeError(e)));
  }, [load]);

  return (
    <Panel title="API keys">
      <p className="muted">Keys are stored in your operating system's keychain. This window only ever sees the last four characters.</p>
      {error && <p className="error">{error}</p>}
      <div className="key-table" role="table" aria-label="Provider keys">
        {providers
          .filter((p) => p.keyRequired)
          .map((p) => (
            <KeyRow key={p.id} provider={p} />
          ))}
      </div>
      {providers.some((p) => !p.officialApi) && (
        <p className="muted small">
          {providers
            .filter((p) => !p.officialApi)
            .map((p) => `${p.displayName}: ${p.note ?? 'no official API'}`)
            .join(' ')}
        </p>
      )}
    </Panel>
  );
}

function AppearancePanel() {
  const theme = useSettings((s) => s.settings?.theme);
  const update = useSettings((s) => s.update);
  return (
    <Panel title="Appearance">
      <div className="segmented" role="radiogroup" aria-label="Theme">
        {(['system', 'light', 'dark'] as const).map((t) => (
          <label key={t} className={theme === t ? 'seg active' : 'seg'}>
            <input type="radio" name="theme" value={t} checked={theme === t} onChange={() => void update('theme', t)} />
            {t[0]?.toUpperCase() + t.slice(1)}
          </label>
        ))}
      </div>
    </Panel>
  );
}

function SystemPanel() {
  const info = useSettings((s) => s.info);
  const [report, setReport] = useState<DoctorReport | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const runDoctor = async () => {
    setRunning(true);
    try {
      setReport(await api.call('doctor.run', {}));
      setError(null);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setRunning(false);
    }
  };

  return (
    <Panel
      title="System"
      actions={
        <button type="button" onClick={() => void runDoctor()} disabled={running}>
          {running ? 'Checking…' : 'Run checks'}
        </button>
      }
    >
      <dl className="facts">
        <dt>Data directory</dt>
        <dd>
          <code>{info?.dataDir ?? '…'}</code>
        </dd>
        <dt>Keychain</dt>
        <dd data-testid="keychain-backend">{info?.keychainBackend ?? '…'}</dd>
        <dt>Version</dt>
        <dd>{info?.version ?? '…'}</dd>
      </dl>
      {error && <p className="error">{error}</p>}
      {report && (
        <ul className="checks" aria-label="Checks">
          {report.checks.map((c) => (
            <li key={c.name} className={`check-${c.status}`}>
              <strong>{c.name}</strong> {c.detail}
              {c.hint && <div className="muted small">{c.hint}</div>}
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}
