import { useState } from 'react';
import { useSettings } from '../store/settings.js';
import { Panel } from './Panel.js';

/** A number or text setting that saves when the field loses focus (or Enter), not on every keystroke. */
function SettingField({ label, settingKey, value, type, hint }: { label: string; settingKey: string; value: string | number; type: 'number' | 'text'; hint: string }) {
  const update = useSettings((s) => s.update);
  const [draft, setDraft] = useState<string | null>(null);
  const commit = () => {
    if (draft === null) return;
    void update(settingKey, type === 'number' ? Number(draft) : draft.trim());
    setDraft(null);
  };
  return (
    <label className="field">
      <span>{label}</span>
      <input
        aria-label={label}
        inputMode={type === 'number' ? 'decimal' : 'text'}
        value={draft ?? String(value)}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
      />
      <small className="muted">{hint}</small>
    </label>
  );
}

export function PreferencesPanel() {
  const settings = useSettings((s) => s.settings);
  if (!settings) return null;
  return (
    <Panel title="Spending and cache">
      <div className="prefs-grid">
        <SettingField label="Ask before spending more than ($)" settingKey="finals.confirmAboveUsd" value={settings.finals.confirmAboveUsd} type="number" hint="Per final; a price that is not listed always asks." />
        <SettingField label="Near-match similarity (0.5–1)" settingKey="cache.semanticThreshold" value={settings.cache.semanticThreshold} type="number" hint="How alike two prompts must be before an earlier final is offered." />
        <SettingField label="Image store limit (MB)" settingKey="cache.imageStoreMaxMb" value={settings.cache.imageStoreMaxMb} type="number" hint="Least-recently-used images go first; referenced ones never." />
        <SettingField label="Live preview delay (ms)" settingKey="preview.debounceMs" value={settings.preview.debounceMs} type="number" hint="Quiet time after typing before a live preview starts." />
        <SettingField label="Budget time zone" settingKey="spend.timeZone" value={settings.spend.timeZone} type="text" hint="IANA zone for daily/weekly/monthly budgets; empty = this computer's." />
        <SettingField label="Project" settingKey="spend.project" value={settings.spend.project} type="text" hint="Recorded on every final, for per-project budgets." />
      </div>
    </Panel>
  );
}
