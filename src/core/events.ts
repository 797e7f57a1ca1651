import type { EventName, EventPayload } from '../contract/index.js';

export type AnyEventListener = <K extends EventName>(name: K, payload: EventPayload<K>) => void;

/** Core → hosts. Each host forwards these over its own wire (IPC, SSE) or ignores them (CLI). */
export class EventBus {
  private readonly listeners = new Set<AnyEventListener>();

  emit<K extends EventName>(name: K, payload: EventPayload<K>): void {
    for (const listener of this.listeners) listener(name, payload);
  }

  onAny(listener: AnyEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
