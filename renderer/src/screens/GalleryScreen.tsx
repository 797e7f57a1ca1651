import { useEffect } from 'react';
import type { GalleryItem } from '../../../src/contract/index.js';
import { EmptyState, Panel } from '../components/Panel.js';
import { useFinals } from '../store/finals.js';
import { useGallery } from '../store/gallery.js';
import { useNavigation } from '../store/navigation.js';
import { usePreview } from '../store/preview.js';
import { useSettings } from '../store/settings.js';

export function GalleryScreen() {
  const items = useGallery((s) => s.items);
  const error = useGallery((s) => s.error);
  const load = useGallery((s) => s.load);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <Panel title="Gallery">
      {error && <p className="error">{error}</p>}
      {items.length === 0 ? (
        <EmptyState title="No images yet">Every preview and final lands here with its prompt, seed and settings, ready to restore.</EmptyState>
      ) : (
        <ul className="gallery" aria-label="Images">
          {items.map((item) => (
            <GalleryCard key={item.id} item={item} />
          ))}
        </ul>
      )}
    </Panel>
  );
}

function GalleryCard({ item }: { item: GalleryItem }) {
  const restorePreview = usePreview((s) => s.restore);
  const setFinalDraft = useFinals((s) => s.setDraft);
  const update = useSettings((s) => s.update);
  const go = useNavigation((s) => s.go);
  const p = item.parameters;

  const restore = async () => {
    if (!p) return;
    if (item.source === 'cloud-final') {
      setFinalDraft({ prompt: p.prompt, ...(p.provider && p.model ? { provider: p.provider, model: p.model } : {}) });
      go('finals');
      return;
    }
    restorePreview(p);
    if (p.model) await update('preview.modelId', p.model);
    if (p.steps) await update('preview.steps', p.steps);
    if (p.width) await update('preview.width', p.width);
    if (p.height) await update('preview.height', p.height);
    go('preview');
  };

  return (
    <li className="gallery-card">
      <img src={item.thumbnail} alt={p?.prompt ?? 'image'} width={item.width} height={item.height} />
      <div className="gallery-meta small">
        <span className="gallery-prompt">{p?.prompt || '(no prompt recorded)'}</span>
        <span className="muted">
          {item.source === 'local-preview' ? 'local' : item.source === 'cloud-final' ? (p?.provider ?? 'cloud') : 'import'}
          {p?.model ? ` · ${p.model}` : ''}
          {p?.seed !== undefined ? ` · seed ${p.seed}` : ''}
        </span>
        <button type="button" disabled={!p} onClick={() => void restore()}>
          Restore settings
        </button>
      </div>
    </li>
  );
}
