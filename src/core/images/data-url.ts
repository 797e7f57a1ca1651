/** Images cross the contract as data: URLs, so the sandboxed page never needs file access. */
export function toDataUrl(data: Uint8Array, mime: string): string {
  return `data:${mime};base64,${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64')}`;
}

export function fromDataUrl(url: string): Buffer {
  return Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
}
