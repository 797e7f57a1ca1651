/**
 * The host's end of one running worker, whatever it runs in:
 * - a forked child process (web mode, CLI; the default): a native crash or an out-of-memory kill
 *   takes down only the worker, and killing it mid-run is safe;
 * - a `worker_threads` Worker: cheaper to start, but it shares the process: with
 *   onnxruntime-node 1.30, `terminate()` while a `session.run` is in progress aborts the whole
 *   process now and then ("terminate called after throwing an instance of 'Napi::Error'"), so
 *   it is only safe to end one between runs;
 * - an Electron `utilityProcess` (the app), created in main/ (which may import Electron) and
 *   wrapped here by shape, so native-models stays Electron-free.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AppError } from '../../../src/contract/errors.js';
import type { HostMessageInput } from './protocol.js';

export interface WorkerChannel {
  post(message: HostMessageInput): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once when the worker is gone, with why (exit code, uncaught error). */
  onExit(listener: (reason: string) => void): void;
  /** Ends the worker now, whatever it is doing. */
  terminate(): Promise<void>;
}

/** Starts a worker; `WorkerEngine` calls it again after a crash. */
export type SpawnWorker = () => WorkerChannel;

/** The compiled worker script next to this module (dist/native-models/src/worker/worker-entry.js). */
export function defaultWorkerEntry(): URL {
  return new URL('./worker-entry.js', import.meta.url);
}

export function childProcessChannel(entry: URL = defaultWorkerEntry()): WorkerChannel & { readonly pid: number | undefined; kill(signal: NodeJS.Signals): boolean } {
  const child = fork(scriptPath(entry), [], {
    // Structured clone over the IPC pipe, so typed arrays arrive as typed arrays.
    serialization: 'advanced',
    // Not the host's flags: an --inspect port or a test runner's loader must not be inherited.
    execArgv: [],
    // ONNX Runtime prints every failed GPU probe natively; that noise is kept, not shown, unless
    // IMAGEBENCH_DEBUG is set, and its tail explains a crash.
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (process.env.IMAGEBENCH_DEBUG) process.stderr.write(chunk);
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-2000);
  });
  let gone: string | null = null;
  const exitListeners: ((reason: string) => void)[] = [];
  const exited = (reason: string) => {
    if (gone !== null) return;
    gone = reason;
    for (const listener of exitListeners.splice(0)) listener(reason);
  };
  child.on('error', (error) => exited(`could not run: ${error.message}`));
  child.once('exit', (code, signal) => {
    const why = signal !== null ? `killed by ${signal}` : `exit code ${code}`;
    const last = stderrTail.trim().split('\n').slice(-3).join(' | ');
    exited(code === 0 || !last ? why : `${why}; it last printed: ${last}`);
  });
  return {
    pid: child.pid,
    kill: (signal) => child.kill(signal),
    post: (message) => {
      if (gone === null && child.connected) child.send(message);
    },
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => {
      if (gone !== null) listener(gone);
      else exitListeners.push(listener);
    },
    terminate: async () => {
      if (gone !== null) return;
      const done = new Promise<void>((resolve) => exitListeners.push(() => resolve()));
      child.kill('SIGKILL');
      await done;
    },
  };
}

export function workerThreadChannel(entry: URL = defaultWorkerEntry()): WorkerChannel & { readonly worker: Worker } {
  const worker = new Worker(scriptPath(entry), { name: 'imagebench-inference' });
  let lastError: string | null = null;
  worker.on('error', (error) => (lastError = error instanceof Error ? error.message : String(error)));
  return {
    worker,
    post: (message) => worker.postMessage(message),
    onMessage: (listener) => worker.on('message', listener),
    onExit: (listener) => worker.once('exit', (code) => listener(lastError !== null ? `uncaught error: ${lastError}` : `exit code ${code}`)),
    terminate: async () => {
      await worker.terminate();
    },
  };
}

function scriptPath(entry: URL): string {
  const path = fileURLToPath(entry);
  if (!existsSync(path)) {
    throw new AppError('internal', `The inference worker script is missing: ${path}`, {
      hint: 'Build ImageBench first (`npm run build:node`); running from TypeScript sources needs the compiled worker.',
    });
  }
  return path;
}

/** The parts of Electron's `UtilityProcess` used here (see electron's `utilityProcess.fork`). */
export interface UtilityProcessLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  once(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

/** main/ does `utilityProcessChannel(utilityProcess.fork(workerEntryPath, [], { serviceName: 'ImageBench inference' }))`. */
export function utilityProcessChannel(child: UtilityProcessLike): WorkerChannel {
  return {
    post: (message) => child.postMessage(message),
    onMessage: (listener) => {
      child.on('message', listener);
    },
    onExit: (listener) => {
      child.once('exit', (code) => listener(`exit code ${code}`));
    },
    terminate: async () => {
      child.kill();
    },
  };
}
