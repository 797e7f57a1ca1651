import fs from 'node:fs';
import type { DoctorReport } from '../contract/index.js';
import type { SecretStore } from './secrets/secret-store.js';
import { keychainHint } from './secrets/secret-store.js';

type Check = DoctorReport['checks'][number];

export interface DoctorDeps {
  dataDir: string;
  secrets: SecretStore;
  /** Execution providers the installed onnxruntime-node offers on this OS. */
  executionProviders: () => Promise<string[]>;
  /** Host-specific lines: Electron version, or whether the Electron binary is installed. */
  hostChecks: () => Promise<Check[]>;
}

/** Model weights are gigabytes; below this a download will not fit. */
const LOW_DISK_BYTES = 5 * 1024 ** 3;

export async function runDoctor(deps: DoctorDeps): Promise<DoctorReport> {
  const checks: Check[] = [
    { name: 'Node.js', status: 'ok', detail: process.version },
    ...(await settle('Host', deps.hostChecks)),
    ...(await settle('ONNX Runtime', async () => [await onnxRuntimeCheck(deps)])),
    keychainCheck(deps.secrets),
    dataDirCheck(deps.dataDir),
    diskCheck(deps.dataDir),
  ];
  return { checks };
}

async function settle(name: string, run: () => Promise<Check[]>): Promise<Check[]> {
  try {
    return await run();
  } catch (error) {
    return [{ name, status: 'fail', detail: error instanceof Error ? error.message : String(error) }];
  }
}

async function onnxRuntimeCheck(deps: DoctorDeps): Promise<Check> {
  const eps = await deps.executionProviders();
  const gpu = eps.filter((ep) => ep !== 'cpu');
  // A bundled GPU provider still needs its driver/runtime; whether it works is known only when a
  // model loads, and a failure there falls back to CPU with the reason shown in the preview.
  return {
    name: 'ONNX Runtime',
    status: eps.includes('cpu') ? 'ok' : 'fail',
    detail: `execution providers in this build: ${eps.join(', ') || 'none'}`,
    hint:
      gpu.length > 0
        ? 'GPU providers are tried first when a model loads; if one cannot start, previews run on the CPU and say why.'
        : 'Only the CPU is available to local previews: they will work, slowly.',
  };
}

function keychainCheck(secrets: SecretStore): Check {
  if (secrets.kind === 'none') {
    return { name: 'Keychain', status: 'warn', detail: secrets.backend, hint: keychainHint() };
  }
  return { name: 'Keychain', status: 'ok', detail: secrets.backend };
}

function dataDirCheck(dataDir: string): Check {
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.accessSync(dataDir, fs.constants.W_OK);
    return { name: 'Data directory', status: 'ok', detail: dataDir };
  } catch (error) {
    return {
      name: 'Data directory',
      status: 'fail',
      detail: `${dataDir} is not writable: ${(error as Error).message}`,
      hint: 'Set IMAGEBENCH_HOME to a writable folder.',
    };
  }
}

function diskCheck(dataDir: string): Check {
  try {
    const stats = fs.statfsSync(dataDir);
    const free = stats.bavail * stats.bsize;
    const gib = (free / 1024 ** 3).toFixed(1);
    return free < LOW_DISK_BYTES
      ? { name: 'Disk space', status: 'warn', detail: `${gib} GiB free`, hint: 'Local models need several GiB each: free some space.' }
      : { name: 'Disk space', status: 'ok', detail: `${gib} GiB free` };
  } catch (error) {
    return { name: 'Disk space', status: 'fail', detail: (error as Error).message };
  }
}
