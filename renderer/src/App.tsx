import { useEffect } from 'react';
import { Sidebar } from './components/Sidebar.js';
import { FinalsScreen } from './screens/FinalsScreen.js';
import { GalleryScreen } from './screens/GalleryScreen.js';
import { PreviewScreen } from './screens/PreviewScreen.js';
import { SettingsScreen } from './screens/SettingsScreen.js';
import { SpendScreen } from './screens/SpendScreen.js';
import { useNavigation, type Screen } from './store/navigation.js';
import { useSettings } from './store/settings.js';

const SCREEN_COMPONENTS: Record<Screen, () => React.JSX.Element> = {
  preview: PreviewScreen,
  finals: FinalsScreen,
  gallery: GalleryScreen,
  spend: SpendScreen,
  settings: SettingsScreen,
};

export function App() {
  const screen = useNavigation((s) => s.screen);
  const theme = useSettings((s) => s.settings?.theme ?? 'system');
  const error = useSettings((s) => s.error);
  const load = useSettings((s) => s.load);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  const Current = SCREEN_COMPONENTS[screen];
  return (
    <div className="app">
      <Sidebar />
      <main className="screen" aria-label={screen}>
        {error && (
          <div className="banner banner-error" role="alert">
            {error}
          </div>
        )}
        <Current />
      </main>
    </div>
  );
}
