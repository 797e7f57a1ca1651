import { EmptyState, Panel } from '../components/Panel.js';

export function SpendScreen() {
  return (
    <Panel title="Spend">
      <EmptyState title="No spend recorded">
        Per-image cost, p95 latency, cache hit rate and local GPU utilisation appear here once you render.
      </EmptyState>
    </Panel>
  );
}
