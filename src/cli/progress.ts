import type { DownloadProgress } from '../contract/models.js';

/** A one-line progress bar on stderr (only when it is a terminal); stdout stays clean for --json. */
export function downloadProgressPrinter(stream: NodeJS.WriteStream = process.stderr): (p: DownloadProgress) => void {
  let lastLine = '';
  return (p) => {
    if (!stream.isTTY) return;
    const mib = (n: number) => (n / 1024 ** 2).toFixed(1);
    const width = 28;
    const share = p.totalBytes ? p.receivedBytes / p.totalBytes : 0;
    const bar = p.totalBytes ? '█'.repeat(Math.round(share * width)).padEnd(width, '░') : '';
    const size = p.totalBytes ? `${mib(p.receivedBytes)}/${mib(p.totalBytes)} MiB ${(share * 100).toFixed(0)}%` : `${mib(p.receivedBytes)} MiB`;
    const resumed = p.resumedFrom > 0 ? ` (resumed at ${mib(p.resumedFrom)} MiB)` : '';
    const line = p.phase === 'downloading' ? `${bar} ${size}${resumed}` : `${p.phase}…`;
    if (line === lastLine) return;
    lastLine = line;
    stream.write(`\r\x1b[2K${line}${p.phase === 'done' ? '\n' : ''}`);
  };
}
