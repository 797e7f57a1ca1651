import { useEffect } from 'react';
import { EmptyState, Panel } from '../components/Panel.js';
import { useKeys } from '../store/keys.js';
import { useNavigation } from '../store/navigation.js';

export function FinalsScreen() {
  const providers = useKeys((s) => s.providers);
  const statuses = useKeys((s) => s.statuses);
  const load = useKeys((s) => s.load);
  const go = useNavigation((s) => s.go);

  useEffect(() => {
    void load();
  }, [load]);

  const ready = providers.filter((p) => !p.keyRequired || statuses.find((s) => s.provider === p.id)?.set);
  return (
    <div className="stack">
      <Panel title="Cloud finals">
        <EmptyState title="Nothing escalated yet">
          Pick a preview you like and escalate it to a cloud model; the price is shown before anything is spent.
        </EmptyState>
      </Panel>
      <Panel title="Providers you can use">
        {ready.length === 0 ? (
          <p className="muted">
            No provider key is set.{' '}
            <button type="button" className="link" onClick={() => go('settings')}>
              Add one in Settings
            </button>
            .
          </p>
        ) : (
          <ul className="chips">
            {ready.map((p) => (
              <li key={p.id} className="chip">
                {p.displayName}
              </li>
            ))}
          </ul>
        )}
      </Panel>
    </div>
  );
}
