/**
 * The worker's line to its host, whichever way it was started: an Electron `utilityProcess` has
 * `process.parentPort` (its 'message' events wrap the payload in `{ data }`, and it transfers only
 * MessagePorts); a forked child process (web mode, CLI) has the IPC channel `process.send`; a
 * `worker_threads` Worker has `parentPort`.
 */
import { parentPort } from 'node:worker_threads';
import type { WorkerMessageInput } from './protocol.js';

export interface ParentConnection {
  /** `transfer`: buffers to move instead of copy where the transport allows it. */
  post(message: WorkerMessageInput, transfer?: readonly ArrayBuffer[]): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** The subset of Electron's `process.parentPort` (a ParentPort) used here. */
interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { readonly data: unknown }) => void): void;
}

export function connectToParent(): ParentConnection {
  const electronPort = (process as NodeJS.Process & { parentPort?: ElectronParentPort }).parentPort;
  if (electronPort !== undefined) {
    return {
      post: (message) => electronPort.postMessage(message),
      onMessage: (listener) => electronPort.on('message', (event) => listener(event.data)),
    };
  }
  const send = process.send?.bind(process);
  if (send !== undefined) {
    // Orphaned when the host dies without a shutdown: nothing will ever read our answers.
    process.once('disconnect', () => process.exit(0));
    return {
      post: (message) => void send(message),
      onMessage: (listener) => process.on('message', listener),
    };
  }
  if (parentPort !== null) {
    const port = parentPort;
    return {
      post: (message, transfer) => port.postMessage(message, transfer === undefined ? undefined : [...transfer]),
      onMessage: (listener) => port.on('message', listener),
    };
  }
  throw new Error('The inference worker must be started as a child process, a worker thread or an Electron utility process, not run directly.');
}
