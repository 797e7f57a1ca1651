import { ESLint } from 'eslint';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/tmp.js';

const eslint = new ESLint({ cwd: repoRoot });

async function restrictedImports(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layering rule', () => {
  it('stops the core importing Electron, React or a host', async () => {
    const messages = await restrictedImports('src/core/probe.ts', "import 'electron';\nimport 'react';\nimport '../server/web-host.js';\n");
    expect(messages).toHaveLength(3);
  });

  it('stops the renderer importing Node, the core or native modules', async () => {
    const code = "import 'node:fs';\nimport '../../src/core/core.js';\nimport 'keytar';\nimport '../../native-models/src/backend/ort.js';\n";
    expect(await restrictedImports('renderer/src/probe.ts', code)).toHaveLength(4);
  });

  it('lets the renderer import the contract', async () => {
    expect(await restrictedImports('renderer/src/probe.ts', "import { calls } from '../../src/contract/index.js';\nexport { calls };\n")).toEqual([]);
  });

  it('keeps onnxruntime-node inside the one backend file', async () => {
    expect(await restrictedImports('native-models/src/pipelines/probe.ts', "import 'onnxruntime-node';\n")).toHaveLength(1);
    expect(await restrictedImports('src/core/probe.ts', "import 'onnxruntime-node';\n")).toHaveLength(1);
    expect(await restrictedImports('native-models/src/backend/ort.ts', "import 'onnxruntime-node';\n")).toEqual([]);
  });

  it('keeps the contract free of Node built-ins', async () => {
    expect(await restrictedImports('src/contract/probe.ts', "import 'node:path';\n")).toHaveLength(1);
  });
});
