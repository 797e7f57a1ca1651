import { useEffect, useState } from 'react';
import { formatUsd } from '../../../src/contract/index.js';
import { FinalJobs } from '../components/FinalJobs.js';
import { Panel } from '../components/Panel.js';
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
                if (picked) setDraft(defaultsFor(picked, draft.fromAspect));
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
            <SpendButton disabled={!current || draft.prompt.trim() === ''} />
          )}
        </div>
        {draft.fromImageId && current?.img2img && (
          <label className="check">
            <input type="checkbox" checked={draft.img2img} onChange={(e) => setDraft({ img2img: e.target.checked })} />
            Start from the preview's pixels (image-to-image)
          </label>
        )}
        <NearMatchOffer />
        {draft.fromImageId && <p className="muted small">Escalating the preview with seed {draft.seed ?? 'random'}; the final will appear beside it.</p>}
      </Panel>
      <Panel title="Finals">
        <FinalJobs />
      </Panel>
    </div>
  );
}

/** The one button that spends: it says the price, and asks first above the threshold or for an unknown price. */
function SpendButton({ disabled }: { disabled: boolean }) {
  const estimate = useFinals((s) => s.estimate);
  const submitting = useFinals((s) => s.submitting);
  const submitError = useFinals((s) => s.submitError);
  const submit = useFinals((s) => s.submit);
  const [confirming, setConfirming] = useState(false);
  const [cap, setCap] = useState('');
  const upper = estimate?.estimate.kind === 'exact' ? estimate.estimate.usd : estimate?.estimate.kind === 'range' ? estimate.estimate.maxUsd : null;

  if (confirming && estimate) {
    const unknown = upper === null;
    const capUsd = Number(cap);
    return (
      <div className="confirm" role="alertdialog" aria-label="Confirm spend">
        {unknown ? (
          <label className="field">
            <span>No listed price: the most you agree to pay ($)</span>
            <input aria-label="Most I agree to pay" inputMode="decimal" value={cap} onChange={(e) => setCap(e.target.value)} />
          </label>
        ) : (
          <span>Spend up to {formatUsd(upper)}?</span>
        )}
        <button type="button" onClick={() => setConfirming(false)}>
          Back
        </button>
        <button
          type="submit"
          disabled={unknown && !(capUsd > 0)}
          onClick={() => {
            setConfirming(false);
            void submit(unknown ? { unknownMaxUsd: capUsd } : { aboveUsd: upper });
          }}
        >
          Confirm and generate
        </button>
      </div>
    );
  }
  return (
    <span className="button-row">
      {submitError && <span className="error small">{submitError}</span>}
      <button
        type="submit"
        disabled={disabled || submitting || !estimate}
        onClick={() => (estimate?.needsConfirmation ? setConfirming(true) : void submit({ aboveUsd: upper ?? undefined }))}
      >
        {submitting ? 'Sending…' : `Generate final · ${estimate?.text ?? '…'}`}
      </button>
    </span>
  );
}

/** Earlier paid finals whose prompts mean nearly the same: offered with what they would save, never used unasked. */
function NearMatchOffer() {
  const near = useFinals((s) => s.nearMatches);
  const used = useFinals((s) => s.usedMatch);
  const takeMatch = useFinals((s) => s.takeMatch);
  const decline = useFinals((s) => s.declineMatches);
  if (used) return <p className="offer-used small" role="status">{used.message}</p>;
  const best = near?.matches[0];
  if (!best) return null;
  return (
    <div className="offer" role="region" aria-label="Near match">
      <span>
        <strong>{best.message}</strong>
        <span className="muted small"> — “{best.prompt}” on {best.provider}/{best.model}</span>
      </span>
      <button type="button" onClick={() => void takeMatch(best.id)}>
        Use it
      </button>
      <button type="button" onClick={() => void decline()}>
        No thanks
      </button>
    </div>
  );
}
