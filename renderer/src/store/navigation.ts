import { create } from 'zustand';

export const SCREENS = ['preview', 'finals', 'gallery', 'spend', 'settings'] as const;
export type Screen = (typeof SCREENS)[number];

interface NavigationState {
  screen: Screen;
  go(screen: Screen): void;
}

function fromHash(): Screen {
  const hash = window.location.hash.replace('#', '');
  return (SCREENS as readonly string[]).includes(hash) ? (hash as Screen) : 'preview';
}

export const useNavigation = create<NavigationState>((set) => ({
  screen: fromHash(),
  go(screen) {
    window.location.hash = screen;
    set({ screen });
  },
}));
