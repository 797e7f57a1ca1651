import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli } from '../../helpers/cli.js';
import { openTestKeychain } from '../../helpers/keychain.js';
import { startOpenAIFake } from '../../fakes/openai.js';
import { tinyModelsDir } from '../../helpers/tiny-models.js';
import { filesContaining, makeTempDir } from '../../helpers/tmp.js';

const home = makeTempDir();
const service = `ImageBench-cli-test-${process.pid}`;
const env = { IMAGEBENCH_HOME: path.join(home.dir, 'data'), IMAGEBENCH_KEYCHAIN_SERVICE: service, IMAGEBENCH_OPENAI_API_KEY: '' };
const cli = (args: string[], stdin?: string) => runCli(args, env, stdin);
const keychain = await openTestKeychain(service);

beforeAll(() => assertBuilt());
afterAll(() => home.cleanup());

describe('imagebench CLI', () => {
  it('prints help for every command group and exits 0', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['serve', 'settings', 'keys', 'doctor']) expect(top.stdout).toContain(command);
    const keys = await cli(['keys', '--help']);
    expect(keys.code).toBe(0);
    expect(keys.stdout).toMatch(/set .*<provider>/);
  });

  it('sets and reads settings, with --json', async () => {
    const set = await cli(['settings', 'set', 'preview.steps', '4']);
    expect(set).toMatchObject({ code: 0, stdout: 'preview.steps = 4\n' });
    const get = await cli(['settings', 'get', 'preview.steps', '--json']);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual({ key: 'preview.steps', value: 4 });
    const list = await cli(['settings', 'list']);
    expect(list.stdout).toContain('preview.steps = 4');
    expect(list.stdout).toContain('theme = "system"');
  });

  it('exits 1 with a one-line reason and a hint on a user error', async () => {
    const bad = await cli(['settings', 'set', 'preview.steps', '0']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: Cannot set preview\.steps to 0: .+\nhint: .+\n$/);
    const json = await cli(['settings', 'set', 'nope', '1', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect((await cli(['frobnicate'])).code).toBe(1);
  });

  it('never takes a key from the command line', async () => {
    const res = await cli(['keys', 'set', 'openai', 'sk-on-the-command-line-1234']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('not accepted as arguments');
    expect(filesContaining(home.dir, 'sk-on-the-command-line-1234')).toEqual([]);
  });

  it('rejects an unknown provider', async () => {
    const res = await cli(['keys', 'set', 'acme'], 'sk-whatever-123456');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/provider/);
  });

  it.skipIf(!keychain.store)(`stores a key from stdin in the keychain only ${keychain.reason}`, async () => {
    const secret = 'sk-cli-test-SECRET-5678';
    const set = await cli(['keys', 'set', 'openai'], secret);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('…5678');
    expect(set.stdout + set.stderr).not.toContain('SECRET');
    const list = JSON.parse((await cli(['keys', 'list', '--json'])).stdout) as Array<{ provider: string; set: boolean; last4: string }>;
    expect(list.find((k) => k.provider === 'openai')).toMatchObject({ set: true, last4: '5678', source: 'keychain' });
    expect(await keychain.store!.get('api-key:openai')).toBe(secret);
    expect(filesContaining(home.dir, 'SECRET')).toEqual([]);
    const removed = await cli(['keys', 'remove', 'openai']);
    expect(removed.code).toBe(0);
    expect(await keychain.store!.get('api-key:openai')).toBeNull();
  });

  it('doctor reports runtime, ONNX Runtime, keychain, data dir and disk', async () => {
    const res = await cli(['doctor', '--json']);
    const report = JSON.parse(res.stdout) as { checks: Array<{ name: string; status: string; detail: string }> };
    const names = report.checks.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['Node.js', 'Electron', 'ONNX Runtime', 'Keychain', 'Data directory', 'Disk space']));
    expect(report.checks.find((c) => c.name === 'ONNX Runtime')?.detail).toContain('cpu');
    expect(report.checks.find((c) => c.name === 'Data directory')?.detail).toBe(env.IMAGEBENCH_HOME);
    const human = await cli(['doctor']);
    expect(human.stdout).toContain('ONNX Runtime');
  });

  it('imports, lists and removes a local model', async () => {
    const folder = path.join(tinyModelsDir(), 'sd-turbo');
    const imported = await cli(['models', 'import', folder, '--name', 'SD Turbo tiny']);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/^Imported sd-turbo-tiny +sd2 \(turbo\)/);
    expect(imported.stdout).toContain('Licence: Stability AI');
    const list = JSON.parse((await cli(['models', 'list', '--json'])).stdout) as Array<{ id: string; family: string; path: string }>;
    expect(list).toEqual([expect.objectContaining({ id: 'sd-turbo-tiny', family: 'sd2', path: folder })]);
    const corrupt = await cli(['models', 'import', path.join(tinyModelsDir(), 'corrupt')]);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/^error: .*unet\/model\.onnx/);
    const removed = await cli(['models', 'remove', 'sd-turbo-tiny']);
    expect(removed.stdout).toContain('files kept in');
    expect(JSON.parse((await cli(['models', 'list', '--json'])).stdout)).toEqual([]);
  });

  it.skipIf(!keychain.store)('tests a stored key against the provider (a loopback fake of its API)', async () => {
    const good = 'sk-cli-keytest-GOOD-0001';
    const fake = await startOpenAIFake(good);
    try {
      const viaFake = (args: string[], stdin?: string) => runCli(args, { ...env, IMAGEBENCH_OPENAI_BASE_URL: fake.url }, stdin);
      expect((await viaFake(['keys', 'set', 'openai'], good)).code).toBe(0);
      const ok = await viaFake(['keys', 'test', 'openai']);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^ok: /);
      expect((await viaFake(['keys', 'set', 'openai'], 'sk-cli-keytest-BAD-0002')).code).toBe(0);
      const bad = await viaFake(['keys', 'test', 'openai', '--json']);
      expect(bad.code).toBe(1);
      expect(JSON.parse(bad.stdout)).toMatchObject({ provider: 'openai', ok: false });
      expect(bad.stdout + bad.stderr).not.toContain('BAD-0002');
      await viaFake(['keys', 'remove', 'openai']);
      const missing = await viaFake(['keys', 'test', 'openai']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('IMAGEBENCH_OPENAI_API_KEY');
    } finally {
      await fake.close();
    }
  });

  it('estimates a final from the price table before anything is spent', async () => {
    const fixed = JSON.parse((await cli(['estimate', 'a fox', '--provider', 'replicate', '--model', 'black-forest-labs/flux-schnell', '--aspect', '1:1', '--n', '4', '--json'])).stdout);
    expect(fixed).toMatchObject({ estimate: { kind: 'exact', usd: 0.012 }, text: '$0.012', needsConfirmation: false });
    const tokens = JSON.parse((await cli(['estimate', 'a fox', '--provider', 'openai', '--model', 'gpt-image-2', '--size', '1024x1024', '--quality', 'high', '--json'])).stdout);
    expect(tokens.estimate.kind).toBe('range');
    expect(tokens.needsConfirmation).toBe(true);
    const unknown = await cli(['estimate', 'x', '--provider', 'stability', '--model', 'sd3.5-flash', '--size', '1024x1024']);
    expect(unknown.stdout).toMatch(/^price unknown/);
    expect(unknown.stdout).toContain('ask first');
    expect((await cli(['estimate', 'x', '--provider', 'openai', '--model', 'gpt-image-2'])).code).toBe(1);
  });

  it('renders a local preview reproducibly by seed and prints each stage', async () => {
    await cli(['models', 'import', path.join(tinyModelsDir(), 'sd-turbo')]);
    const out = (name: string) => path.join(home.dir, name);
    const a = await cli(['preview', 'a lighthouse at dusk', '--seed', '7', '--size', '128x128', '--out', out('a.png')]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^sd2 · 128×128 · 1 step \(euler\) · seed 7 · cpu/);
    expect(a.stdout).toMatch(/tokenize [\d.]+ ms · text encoder [\d.]+ ms · unet [\d.]+ ms · vae [\d.]+ ms · total \d+ ms/);
    const b = JSON.parse((await cli(['preview', 'a lighthouse at dusk', '--seed', '7', '--size', '128x128', '--out', out('b.png'), '--json'])).stdout);
    const c = JSON.parse((await cli(['preview', 'a lighthouse at dusk', '--seed', '8', '--size', '128x128', '--out', out('c.png'), '--json'])).stdout);
    expect(fs.readFileSync(out('a.png')).equals(fs.readFileSync(out('b.png')))).toBe(true);
    expect(fs.readFileSync(out('a.png')).equals(fs.readFileSync(out('c.png')))).toBe(false);
    expect(b.images[0].imageId).not.toBe(c.images[0].imageId);
    // The PNG carries what made it, for "restore settings" and for other tools.
    const gallery = JSON.parse((await cli(['gallery', '--json'])).stdout) as Array<{ id: string; parameters: { seed: number; prompt: string; model: string } }>;
    expect(gallery.find((g) => g.id === b.images[0].imageId)?.parameters).toMatchObject({ seed: 7, prompt: 'a lighthouse at dusk', model: 'sd-turbo' });
    const exported = await cli(['export', b.images[0].imageId.slice(0, 16), '--format', 'webp', '--out', out('b.webp')]);
    expect(exported.code).toBe(0);
    expect(fs.readFileSync(out('b.webp')).subarray(8, 12).toString('latin1')).toBe('WEBP');
    const tokens = JSON.parse((await cli(['tokenize', 'a lighthouse at dusk', '--json'])).stdout);
    expect(tokens).toEqual({ tokenCount: 4, maxTokens: 75, truncated: false, cutWords: [] });
    const tooBig = await cli(['preview', 'x', '--size', '130x128']);
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toContain('multiples of 8');
  });

  it.skipIf(!keychain.store)('generates a cloud final: price first, confirmation, one submission, cache on repeat, ledger and spend', async () => {
    const key = 'sk-cli-generate-KEY-4242';
    const fake = await startOpenAIFake(key);
    try {
      const gen = (args: string[], stdin?: string) => runCli(args, { ...env, IMAGEBENCH_OPENAI_BASE_URL: fake.url }, stdin);
      expect((await gen(['keys', 'set', 'openai'], key)).code).toBe(0);
      const args = ['generate', 'a red fox in snow', '--provider', 'openai', '--model', 'gpt-image-2', '--size', '1024x1024', '--quality', 'high', '--seed', '5'];

      // High quality is above the default $0.10 threshold: without a terminal, nothing is sent.
      const refused = await gen(args);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^Estimate: (≤ )?\$0\.\d+/);
      expect(refused.stderr).toContain('Pass --yes');
      expect(fake.counts.submit).toBe(0);

      const first = await gen([...args, '--yes', '--out', path.join(home.dir, 'fox.png')]);
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/succeeded +openai\/gpt-image-2 +\$0\.\d+ \(provider-reported\)/);
      expect(fs.readFileSync(path.join(home.dir, 'fox.png')).subarray(1, 4).toString('latin1')).toBe('PNG');
      expect(fake.counts.submit).toBe(1);

      const again = await gen([...args, '--yes', '--json']);
      const job = JSON.parse(again.stdout);
      expect(job).toMatchObject({ status: 'succeeded', actualUsd: null, message: expect.stringMatching(/^cached — saved \$0\.\d+/) });
      expect(fake.counts.submit).toBe(1);

      const spend = JSON.parse((await gen(['spend', '--by', 'provider', '--json'])).stdout) as Array<{ key: string; billedUsd: number; requests: number }>;
      expect(spend.find((t) => t.key === 'openai')).toMatchObject({ requests: 1 });
      expect(spend.find((t) => t.key === 'openai')!.billedUsd).toBeGreaterThan(0);
      const list = await gen(['finals', 'list']);
      expect(list.stdout.split('\n').filter((l) => l.includes('succeeded'))).toHaveLength(2);

      // A hard budget below the price blocks before anything is sent.
      await gen(['budget', 'set', '--period', 'month', '--hard', '0.01']);
      const blocked = await gen(['generate', 'another fox', '--provider', 'openai', '--model', 'gpt-image-2', '--size', '1024x1024', '--quality', 'high', '--yes']);
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toMatch(/budget/i);
      expect(fake.counts.submit).toBe(1);
      await gen(['budget', 'remove', '--period', 'month']);

      expect(filesContaining(home.dir, 'KEY-4242')).toEqual([]);
      await gen(['keys', 'remove', 'openai']);
    } finally {
      await fake.close();
    }
  });
});
