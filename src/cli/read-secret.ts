import readline from 'node:readline';

/**
 * A key comes from stdin (piped) or a hidden prompt, never from argv where it
 * would land in shell history and the process list.
 */
export async function readSecret(prompt: string, stdin: NodeJS.ReadStream = process.stdin, stderr: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8').trim();
  }
  stderr.write(prompt);
  const rl = readline.createInterface({ input: stdin, terminal: true });
  // Swallow echo while the user types: the key must not appear on screen.
  const rlWithOutput = rl as unknown as { _writeToOutput: (s: string) => void };
  rlWithOutput._writeToOutput = () => {};
  try {
    return await new Promise<string>((resolve) => rl.question('', (answer) => resolve(answer.trim())));
  } finally {
    rl.close();
    stderr.write('\n');
  }
}
