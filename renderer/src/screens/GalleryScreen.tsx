import { EmptyState, Panel } from '../components/Panel.js';

export function GalleryScreen() {
  return (
    <Panel title="Gallery">
      <EmptyState title="No images yet">Every preview and final you keep lands here with its prompt, seed and settings, ready to restore.</EmptyState>
    </Panel>
  );
}
