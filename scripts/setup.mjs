// One command on a fresh machine: system packages (Debian/Ubuntu), npm dependencies, the Electron
// binary when it can be downloaded, and the build.
import { execFileSync, spawnSync } from 'node:child_process';

const run = (cmd, args, env = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`\nsetup: \`${cmd} ${args.join(' ')}\` failed (exit ${r.status}).`);
    process.exit(r.status ?? 1);
  }
};

if (process.platform === 'linux') run('bash', ['scripts/install-system-deps.sh']);

// onnxruntime-node's install script fetches an optional CUDA provider from the internet; CPU (and WebGPU,
// DirectML, CoreML where the OS has them) are bundled, so skip it unless the user opts in.
run('npm', ['ci', '--no-audit', '--no-fund'], {
  ELECTRON_SKIP_BINARY_DOWNLOAD: '1',
  ONNXRUNTIME_NODE_INSTALL: process.env.ONNXRUNTIME_NODE_INSTALL ?? 'skip',
});

if (!process.env.CI && !process.env.IMAGEBENCH_SKIP_ELECTRON) {
  const r = spawnSync('node', ['node_modules/electron/install.js'], { stdio: 'inherit' });
  if (r.status !== 0) console.warn('\nsetup: the Electron binary could not be downloaded (offline?). `npm start` will open web mode instead.');
}

run('npm', ['run', 'build']);
try {
  execFileSync('node', ['bin/imagebench.js', 'doctor'], { stdio: 'inherit' });
} catch {
  console.warn('setup: `imagebench doctor` reported a problem above; the app still starts.');
}
console.log('\nReady: `npm start` opens ImageBench.');
