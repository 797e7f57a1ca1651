// `npm start`: the desktop app when the Electron binary is installed, otherwise web mode (and why).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let electronBinary = null;
try {
  electronBinary = require('electron');
} catch (error) {
  console.log(`Electron binary not installed (${error.message.split('\n')[0]}).`);
}

if (!existsSync('dist/src/cli/main.js') || !existsSync('dist/renderer/index.html')) {
  console.error('ImageBench is not built: run `npm run setup` (or `npm run build`) first.');
  process.exit(1);
}

const [cmd, args] =
  electronBinary && existsSync(electronBinary)
    ? [electronBinary, ['.']]
    : (console.log('Starting web mode instead: open the address below in your browser.'), [process.execPath, ['bin/imagebench.js', 'serve', ...process.argv.slice(2)]]);
const child = spawn(cmd, args, { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 0));
