import { useEffect } from 'react';
import { EmptyState, Panel } from '../components/Panel.js';
import { defaultsFor, useFinals } from '../store/finals.js';
import { useKeys } from '../store/keys.js';
import { useNavigation } from '../store/navigation.js';

export function FinalsScreen() {
  const models = useFinals((s) => s.models);
  const draft = useFinals((s) => s.draft);
  const estimate = useFinals((s) => s.estimate);
  const estimateError = useFinals((s) => s.estimateError);
  const loadModels = useFinals((s) => s.loadModels);
  const setDraft = useFinals((s) => s.setDraft);
  const providers = useKeys((s) => s.providers);
  const statuses = useKeys((s) => s.statuses);
  const loadKeys = useKeys((s) => s.load);
  const go = useNavigation((s) => s.go);

  useEffect(() => {
    void loadModels();
    void loadKeys();
  }, [loadModels, loadKeys]);

  const current = models.find((m) => m.provider === draft.provider && m.model === draft.model);
  const provider = providers.find((p) => p.id === draft.provider);
  const keyMissing = Boolean(provider?.keyRequired) && !statuses.find((s) => s.provider === draft.provider)?.set;
  const shapes = current?.sizes ?? current?.aspectRatios ?? [];

  return (
    <div className="stack">
      <Panel title="Escalate to a cloud final">
        <label className="field">
          <span>Prompt</span>
          <textarea rows={3} value={draft.prompt} onChange={(e) => setDraft({ prompt: e.target.value })} placeholder="Carried over from your preview" />
        </label>
        <div className="field-row">
          <label className="field">
            <span>Model</span>
            <select
              aria-label="Model"
              value={`${draft.provider}/${draft.model}`}
              onChange={(e) => {
                const picked = models.find((m) => `${m.provider}/${m.model}` === e.target.value);
                if (picked) setDraft(defaultsFor(picked));
              }}
            >
              {models.map((m) => (
                <option key={`${m.provider}/${m.model}`} value={`${m.provider}/${m.model}`}>
                  {m.providerName} · {m.displayName}
                  {m.status !== 'current' ? ` (${m.status})` : ''}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>{current?.sizes ? 'Size' : 'Aspect ratio'}</span>
            <select aria-label="Size" value={draft.size} onChange={(e) => setDraft({ size: e.target.value })}>
              {shapes.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          {current?.qualities && (
            <label className="field">
              <span>Quality</span>
              <select aria-label="Quality" value={draft.quality} onChange={(e) => setDraft({ quality: e.target.value })}>
                {current.qualities.map((q) => (
                  <option key={q}>{q}</option>
                ))}
              </select>
            </label>
          )}
          <label className="field narrow">
            <span>Images</span>
            <input type="number" min={1} max={current?.maxImagesPerCall ?? 1} value={draft.n} onChange={(e) => setDraft({ n: Math.max(1, Number(e.target.value)) })} />
          </label>
        </div>
        {current?.shutdownOn && (
          <p className="warn small">
            {current.displayName} shuts down on {current.shutdownOn}
            {current.replacement ? `; its replacement is ${current.replacement}` : ''}.
          </p>
        )}
        <div className="spend-row">
          <div className="estimate" data-testid="final-estimate" aria-live="polite">
            <span className="estimate-label">Estimate</span>
            <strong>{estimate ? estimate.text : '…'}</strong>
            {estimate && <span className="muted small">{estimate.estimate.kind === 'unknown' ? estimate.estimate.reason : estimate.estimate.basis}</span>}
            {estimateError && <span className="error small">{estimateError}</span>}
          </div>
          {keyMissing ? (
            <button type="button" onClick={() => go('settings')}>
              Add your {provider?.displayName} key
            </button>
          ) : (
            <button type="button" disabled title="Cloud jobs arrive with the job queue (issue #5)">
              Generate final
            </button>
          )}
        </div>
      </Panel>
      <Panel title="Finals">
        <EmptyState title="Nothing escalated yet">Finals you generate appear here beside the preview they came from.</EmptyState>
      </Panel>
    </div>
  );
}
