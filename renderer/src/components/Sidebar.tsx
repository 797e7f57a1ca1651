import { hostKind } from '../bridge.js';
import { SCREENS, useNavigation, type Screen } from '../store/navigation.js';
import { useSettings } from '../store/settings.js';

const LABELS: Record<Screen, string> = {
  preview: 'Preview',
  finals: 'Finals',
  gallery: 'Gallery',
  spend: 'Spend',
  settings: 'Settings',
};

export function Sidebar() {
  const screen = useNavigation((s) => s.screen);
  const go = useNavigation((s) => s.go);
  const version = useSettings((s) => s.info?.version);

  return (
    <nav className="sidebar" aria-label="Main">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true" />
        ImageBench
      </div>
      <ul>
        {SCREENS.map((id) => (
          <li key={id}>
            <button type="button" className={id === screen ? 'nav-item active' : 'nav-item'} aria-current={id === screen ? 'page' : undefined} onClick={() => go(id)}>
              {LABELS[id]}
            </button>
          </li>
        ))}
      </ul>
      <div className="sidebar-foot">
        {hostKind === 'web' ? 'Web mode · 127.0.0.1' : 'Desktop'}
        {version ? ` · v${version}` : ''}
      </div>
    </nav>
  );
}
