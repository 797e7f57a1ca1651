import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../src/contract/errors.js';
import { defaultSettings, settingKeys } from '../../../src/contract/settings.js';
import { confSettingsFile } from '../../../src/core/node-host.js';
import { SettingsService, migrateSettings, type SettingsFile } from '../../../src/core/settings/settings-service.js';
import { makeTempDir } from '../../helpers/tmp.js';

let tmp: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => tmp.cleanup());

const settingsPath = () => path.join(tmp.dir, 'settings.json');
const readFile = () => JSON.parse(fs.readFileSync(settingsPath(), 'utf8')) as Record<string, unknown>;

describe('settings on a real conf file', () => {
  it('starts from defaults and writes a versioned file', () => {
    const service = new SettingsService(confSettingsFile(tmp.dir));
    expect(service.get()).toEqual(defaultSettings());
    expect(readFile()).toMatchObject({ schemaVersion: 1, theme: 'system', preview: { steps: 1 } });
  });

  it('persists a change across instances', () => {
    new SettingsService(confSettingsFile(tmp.dir)).set('preview.steps', 4);
    const reopened = new SettingsService(confSettingsFile(tmp.dir));
    expect(reopened.get().preview.steps).toBe(4);
    expect(readFile()).toMatchObject({ preview: { steps: 4 } });
  });

  it('rejects an invalid value with a reason and keeps the old one', () => {
    const service = new SettingsService(confSettingsFile(tmp.dir));
    expect(() => service.set('preview.width', 500)).toThrowError(/preview\.width/);
    expect(() => service.set('theme', 'neon')).toThrowError(AppError);
    expect(service.get().preview.width).toBe(512);
    expect(readFile()).toMatchObject({ preview: { width: 512 }, theme: 'system' });
  });

  it('refuses unknown keys and names the known ones', () => {
    const service = new SettingsService(confSettingsFile(tmp.dir));
    expect(() => service.set('preview.nope', 1)).toThrowError(/no setting called "preview.nope"/);
    try {
      service.set('colour', 'red');
    } catch (error) {
      expect((error as AppError).hint).toContain('preview.steps');
    }
  });

  it('resets one key or everything', () => {
    const service = new SettingsService(confSettingsFile(tmp.dir));
    service.set('preview.steps', 3);
    service.set('theme', 'dark');
    expect(service.reset('preview.steps').preview.steps).toBe(1);
    expect(service.get().theme).toBe('dark');
    expect(service.reset()).toEqual(defaultSettings());
  });

  it('salvages the valid fields of a hand-edited file with a bad value', () => {
    fs.writeFileSync(settingsPath(), JSON.stringify({ schemaVersion: 1, theme: 'dark', preview: { steps: 'many', width: 768 } }));
    const service = new SettingsService(confSettingsFile(tmp.dir));
    expect(service.get().theme).toBe('dark');
    expect(service.get().preview.width).toBe(768);
    expect(service.get().preview.steps).toBe(1);
  });

  it('lists every leaf as a dotted key', () => {
    expect(settingKeys()).toEqual(expect.arrayContaining(['theme', 'preview.steps', 'preview.executionProvider', 'finals.confirmAboveUsd']));
    expect(settingKeys()).not.toContain('schemaVersion');
  });
});

describe('settings migrations', () => {
  it('upgrades an unversioned pre-release file to the current schema', () => {
    expect(migrateSettings({ theme: 'dark' })).toEqual({ theme: 'dark', schemaVersion: 1 });
  });

  it('runs each step in order up to the target version', () => {
    const steps = [
      (v: Record<string, unknown>) => ({ ...v, a: 1 }),
      (v: Record<string, unknown>) => ({ ...v, b: (v.a as number) + 1 }),
    ];
    expect(migrateSettings({ schemaVersion: 0 }, steps, 2)).toEqual({ schemaVersion: 2, a: 1, b: 2 });
    expect(migrateSettings({ schemaVersion: 1, a: 5 }, steps, 2)).toEqual({ schemaVersion: 2, a: 5, b: 6 });
  });

  it('refuses a file from a newer version instead of corrupting it', () => {
    const file: SettingsFile = { read: () => ({ schemaVersion: 99 }), write: () => undefined };
    expect(() => new SettingsService(file)).toThrowError(/newer ImageBench/);
  });
});
