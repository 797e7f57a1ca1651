import { useState } from 'react';
import type { ProviderSummary } from '../../../src/contract/index.js';
import { useKeys } from '../store/keys.js';

export function KeyRow({ provider }: { provider: ProviderSummary }) {
  const status = useKeys((s) => s.statuses.find((k) => k.provider === provider.id));
  const busy = useKeys((s) => s.busy[provider.id] ?? false);
  const feedback = useKeys((s) => s.feedback[provider.id]);
  const save = useKeys((s) => s.save);
  const remove = useKeys((s) => s.remove);
  const test = useKeys((s) => s.test);
  const [draft, setDraft] = useState('');

  const onSave = async () => {
    if (await save(provider.id, draft)) setDraft('');
  };

  return (
    <div className="key-row" role="row" data-provider={provider.id}>
      <div role="cell" className="key-name">
        {provider.displayName}
        {provider.keyHelpUrl && (
          <a href={provider.keyHelpUrl} target="_blank" rel="noreferrer" className="small">
            get a key
          </a>
        )}
      </div>
      <div role="cell" className="key-status" data-testid={`key-status-${provider.id}`}>
        {status?.set ? `Set · …${status.last4 ?? ''}${status.source === 'env' ? ' (from environment)' : ''}` : 'Not set'}
      </div>
      <form
        role="cell"
        className="key-form"
        onSubmit={(e) => {
          e.preventDefault();
          void onSave();
        }}
      >
        <input
          type="password"
          autoComplete="off"
          spellCheck={false}
          aria-label={`${provider.displayName} API key`}
          placeholder={status?.set ? 'Replace key' : 'Paste key'}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <button type="submit" disabled={busy || draft.trim() === ''}>
          Save
        </button>
        <button type="button" disabled={busy || !status?.set} onClick={() => void test(provider.id)}>
          Test
        </button>
        <button type="button" disabled={busy || !status?.set || status.source === 'env'} onClick={() => void remove(provider.id)}>
          Remove
        </button>
      </form>
      {feedback && (
        <div role="cell" className={feedback.kind === 'ok' ? 'key-feedback ok' : 'key-feedback error'}>
          {feedback.text}
        </div>
      )}
    </div>
  );
}
