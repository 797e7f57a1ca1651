// The one bridge between the sandboxed renderer and the core. It exposes two
// functions and no Electron objects; main parses every payload with the contract.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { CallResult } from '../src/contract/index.js';

const CALL_CHANNEL = 'imagebench:call';
const EVENT_CHANNEL = 'imagebench:event';

const bridge = {
  call(name: string, input: unknown): Promise<CallResult> {
    return ipcRenderer.invoke(CALL_CHANNEL, name, input) as Promise<CallResult>;
  },
  subscribe(name: string, listener: (payload: unknown) => void): () => void {
    const handler = (_event: IpcRendererEvent, event: string, payload: unknown) => {
      if (event === name) listener(payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
};

contextBridge.exposeInMainWorld('imagebenchBridge', bridge);
