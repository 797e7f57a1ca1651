import {
  AppError,
  CallResultSchema,
  type CallInput,
  type CallName,
  type CallOutput,
  type CallResult,
  type EventName,
  type EventPayload,
  type ImageBenchApi,
} from '../../src/contract/index.js';

/** What the Electron preload exposes; absent in web mode. */
interface PreloadBridge {
  call(name: string, input: unknown): Promise<CallResult>;
  subscribe(name: string, listener: (payload: unknown) => void): () => void;
}

declare global {
  interface Window {
    imagebenchBridge?: PreloadBridge;
  }
}

function unwrap<K extends CallName>(result: CallResult): CallOutput<K> {
  if (!result.ok) throw AppError.fromPayload(result.error);
  return result.value as CallOutput<K>;
}

function electronApi(bridge: PreloadBridge): ImageBenchApi {
  return {
    call: async <K extends CallName>(name: K, input: CallInput<K>) => unwrap<K>(await bridge.call(name, input)),
    subscribe: (name, listener) => bridge.subscribe(name, (payload) => listener(payload as EventPayload<typeof name>)),
  };
}

/** Web mode: the same calls over HTTP; the token travels in an HttpOnly cookie set when the page was opened. */
function webApi(): ImageBenchApi {
  let source: EventSource | undefined;
  return {
    async call<K extends CallName>(name: K, input: CallInput<K>) {
      const response = await fetch(`/api/call/${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(input),
        credentials: 'same-origin',
      });
      if (response.status === 401) {
        throw new AppError('unauthorized', 'This page is no longer authorised.', {
          hint: 'Open the address printed by `imagebench serve` again.',
        });
      }
      const parsed = CallResultSchema.safeParse(await response.json().catch(() => null));
      if (!parsed.success) throw new AppError('internal', `The server sent a malformed reply to ${name}.`);
      return unwrap<K>(parsed.data as CallResult);
    },
    subscribe<K extends EventName>(name: K, listener: (payload: EventPayload<K>) => void) {
      source ??= new EventSource('/api/events', { withCredentials: true });
      const handler = (event: MessageEvent<string>) => listener(JSON.parse(event.data) as EventPayload<K>);
      source.addEventListener(name, handler);
      return () => source?.removeEventListener(name, handler);
    },
  };
}

export const api: ImageBenchApi = window.imagebenchBridge ? electronApi(window.imagebenchBridge) : webApi();
export const hostKind: 'electron' | 'web' = window.imagebenchBridge ? 'electron' : 'web';
