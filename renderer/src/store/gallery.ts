import { create } from 'zustand';
import type { GalleryItem } from '../../../src/contract/index.js';
import { api } from '../bridge.js';
import { describeError } from './errors.js';

interface GalleryState {
  items: GalleryItem[];
  error: string | null;
  load(): Promise<void>;
}

export const useGallery = create<GalleryState>((set) => ({
  items: [],
  error: null,
  async load() {
    try {
      set({ items: await api.call('gallery.list', { limit: 60 }), error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
}));

// A new render lands in the gallery without a reload.
api.subscribe('preview.result', () => void useGallery.getState().load());
