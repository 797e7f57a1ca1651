import { Command, CommanderError, Option } from 'commander';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../contract/errors.js';
import { flattenSettings, formatUsd, type CallInput, type CallName, type CallOutput, type BudgetStatus, type StudioPolicyView, type StudioStatus, type DoctorReport, type EventPayload, type KeyStatus, type ModelEntry } from '../contract/index.js';
import type { Core } from '../core/core.js';
import { fromDataUrl } from '../core/images/data-url.js';
import { createNodeCore } from '../core/node-host.js';
import { appVersion, packageRoot } from '../core/version.js';
import { getPath } from '../core/settings/settings-service.js';
import { defaultRendererDir, rendererBuilt, startWebHost } from '../server/web-host.js';
import { EXIT_INTERNAL, EXIT_OK, EXIT_USER, createOutput, userError, type Output } from './output.js';
import { downloadProgressPrinter } from './progress.js';
import { readSecret } from './read-secret.js';

interface Globals {
  json?: boolean;
}

/** Runs one CLI invocation and resolves to its exit code; `serve` resolves only when the server stops. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let exitCode = EXIT_OK;
  let corePromise: Promise<Core> | undefined;
  const core = () => (corePromise ??= createNodeCore('cli', env));
  const program = new Command();
  const out = (): Output => createOutput(Boolean(program.opts<Globals>().json));

  async function call<K extends CallName>(name: K, input: CallInput<K>): Promise<CallOutput<K>> {
    const result = await (await core()).dispatcher.dispatch(name, input);
    if (!result.ok) throw AppError.fromPayload(result.error);
    return result.value as CallOutput<K>;
  }

  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A) => {
      try {
        await fn(...args);
      } catch (error) {
        exitCode = out().fail(error);
      }
    };

  program
    .name('imagebench')
    .description('Local turbo previews on your GPU, cloud finals with the price shown first.')
    .version(appVersion())
    .addOption(new Option('--json', 'machine-readable output'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('serve')
    .description('Serve the app in a browser on 127.0.0.1, protected by a random token')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', '0')
    .action(
      action(async (opts: { port: string }) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw userError(`"${opts.port}" is not a port number.`);
        const serveCore = await createNodeCore('web', env);
        const rendererDir = defaultRendererDir(packageRoot());
        if (!rendererBuilt(rendererDir)) throw userError('The interface is not built.', 'Run `npm run build` first.');
        const host = await startWebHost({ core: serveCore, rendererDir, port });
        void serveCore.startBackgroundWork().catch((error: unknown) => console.error('[imagebench serve] resuming cloud jobs failed:', error instanceof Error ? error.message : error));
        out().result({ url: host.url, port: host.port }, () => `ImageBench web mode is running.\nOpen: ${host.url}\nPress Ctrl+C to stop.`);
        await new Promise<void>((resolve) => {
          const stop = () =>
            void host
              .close()
              .then(() => serveCore.close())
              .then(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );

  program
    .command('doctor')
    .description('Check Node/Electron, ONNX Runtime execution providers, the keychain, data directory and disk space')
    .action(
      action(async () => {
        const report = await call('doctor.run', {});
        out().result(report, () => formatDoctor(report));
        if (report.checks.some((c) => c.status === 'fail')) exitCode = EXIT_USER;
      }),
    );

  const settings = program.command('settings').description('Read and change settings');
  settings
    .command('list')
    .description('Every setting with its value')
    .action(
      action(async () => {
        const all = await call('settings.get', {});
        out().result(all, () => flattenSettings(all).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n'));
      }),
    );
  settings
    .command('get <key>')
    .description('One setting, by dotted key (e.g. preview.steps)')
    .action(
      action(async (key: string) => {
        const all = await call('settings.get', {});
        const entry = flattenSettings(all).find(([k]) => k === key);
        if (!entry) throw userError(`There is no setting called "${key}".`, 'Run `imagebench settings list` to see them all.');
        out().result({ key, value: getPath(all, key) }, () => JSON.stringify(entry[1]));
      }),
    );
  settings
    .command('set <key> <value>')
    .description('Change one setting; the value is read as JSON when it parses (2, true, "x"), else as text')
    .action(
      action(async (key: string, raw: string) => {
        const value = parseValue(raw);
        const all = await call('settings.set', { key, value });
        out().result({ key, value: getPath(all, key) }, () => `${key} = ${JSON.stringify(getPath(all, key))}`);
      }),
    );
  settings
    .command('reset [key]')
    .description('Reset one setting, or all of them, to the default')
    .action(
      action(async (key: string | undefined) => {
        const all = await call('settings.reset', key === undefined ? {} : { key });
        out().result(all, () => (key ? `${key} = ${JSON.stringify(getPath(all, key))}` : 'All settings reset to defaults.'));
      }),
    );

  const keys = program.command('keys').description('Provider API keys, kept in the OS keychain');
  keys
    .command('list')
    .description('Which providers have a key (only the last 4 characters are shown)')
    .action(
      action(async () => {
        const list = await call('keys.list', {});
        out().result(list, () => list.map(formatKey).join('\n'));
      }),
    );
  keys
    .command('set <provider>')
    .description('Store a key; it is read from stdin or a hidden prompt, never from the command line')
    .argument('[extra...]')
    .action(
      action(async (provider: string, extra: string[]) => {
        if (extra.length > 0) {
          throw userError(
            'Keys are not accepted as arguments: they would be kept in your shell history.',
            `Pipe it instead: printf %s "$KEY" | imagebench keys set ${provider}`,
          );
        }
        const key = await readSecret(`API key for ${provider} (input hidden): `);
        if (!key) throw userError('No key was given.', `Pipe it: printf %s "$KEY" | imagebench keys set ${provider}`);
        const status = await call('keys.set', { provider: provider as never, key });
        out().result(status, () => `Stored in ${status.source}: ${formatKey(status)}`);
      }),
    );
  keys
    .command('test <provider>')
    .description("Prove a key works with the provider's cheapest call")
    .action(
      action(async (provider: string) => {
        const result = await call('keys.test', { provider: provider as never });
        out().result(result, () => `${result.ok ? 'ok' : 'FAILED'}: ${result.message}`);
        if (!result.ok) exitCode = EXIT_USER;
      }),
    );
  keys
    .command('remove <provider>')
    .description('Delete a key from the keychain')
    .action(
      action(async (provider: string) => {
        const status = await call('keys.remove', { provider: provider as never });
        out().result(status, () => (status.set ? `Removed from the keychain, but ${formatKey(status)}` : `${provider}: no key stored`));
      }),
    );

  const models = program.command('models').description('Local ONNX models for previews');
  models
    .command('list')
    .description('Installed models with family, size and licence')
    .action(
      action(async () => {
        const list = await call('models.list', {});
        out().result(list, () => (list.length === 0 ? 'No models installed. Import one with `imagebench models import <folder>`.' : list.map(formatModel).join('\n')));
      }),
    );
  models
    .command('import <folder>')
    .description('Register a diffusers/Optimum ONNX export folder (the one with model_index.json); files stay where they are')
    .option('--name <name>', 'display name (default: the folder name)')
    .action(
      action(async (folder: string, opts: { name?: string }) => {
        const entry = await call('models.import', { path: folder, name: opts.name });
        out().result(entry, () => `Imported ${formatModel(entry)}${licenceLine(entry)}`);
      }),
    );
  models
    .command('download <url>')
    .description('Download a .tar.gz of a model folder: resumes if interrupted, checks free disk and the sha256')
    .option('--sha256 <hex>', 'expected sha256 of the archive; the download is deleted if it differs')
    .option('--name <name>', 'display name')
    .action(
      action(async (url: string, opts: { sha256?: string; name?: string }) => {
        const printProgress = downloadProgressPrinter();
        const unsubscribe = (await core()).events.onAny((event, payload) => {
          if (event === 'models.downloadProgress' && !out().json) printProgress(payload as EventPayload<'models.downloadProgress'>);
        });
        try {
          const entry = await call('models.download', { url, sha256: opts.sha256, name: opts.name });
          out().result(entry, () => `Installed ${formatModel(entry)}${licenceLine(entry)}`);
        } finally {
          unsubscribe();
        }
      }),
    );
  models
    .command('remove <id>')
    .description('Forget a model; --delete-files also deletes a model ImageBench downloaded')
    .option('--delete-files', 'delete the files too (only for downloaded models)')
    .action(
      action(async (id: string, opts: { deleteFiles?: boolean }) => {
        const entry = await call('models.remove', { id, deleteFiles: Boolean(opts.deleteFiles) });
        out().result(entry, () => `Removed ${entry.id}${entry.managed ? ' and its files' : ` (files kept in ${entry.path})`}`);
      }),
    );

  program
    .command('providers')
    .description('Cloud and self-hosted providers ImageBench can use')
    .option('--models', 'list every model with its status')
    .action(
      action(async (opts: { models?: boolean }) => {
        if (opts.models) {
          const models = await call('finals.models', {});
          out().result(models, () =>
            models
              .map((m) => `${m.provider.padEnd(10)} ${m.model.padEnd(34)} ${m.status}${m.shutdownOn ? ` (shutdown ${m.shutdownOn}${m.replacement ? `, use ${m.replacement}` : ''})` : ''}`)
              .join('\n'),
          );
          return;
        }
        const list = await call('providers.list', {});
        out().result(list, () =>
          list.map((p) => `${p.id.padEnd(11)} ${p.displayName}${p.officialApi ? '' : '  (no official API)'}${p.note ? ` — ${p.note}` : ''}`).join('\n'),
        );
      }),
    );

  program
    .command('preview <prompt>')
    .description('Render a local preview on this machine (GPU when available) and print the time of each stage')
    .option('--model <id>', 'local model id (see `imagebench models list`)')
    .option('--steps <n>', 'denoising steps (default: the model\'s, e.g. 1 for turbo)')
    .option('--seed <n>', 'seed; the same seed, model and settings give the same pixels')
    .option('--size <WxH>', 'image size, multiples of 8 (default: the model\'s)')
    .option('--negative <prompt>', 'negative prompt (models that use guidance)')
    .option('--guidance <scale>', 'guidance scale')
    .addOption(new Option('--scheduler <name>').choices(['euler', 'euler-ancestral', 'lcm']))
    .option('--init <imageId>', 'image-to-image from a stored image (see `imagebench gallery`)')
    .option('--strength <0-1>', 'image-to-image strength')
    .option('--out <file.png>', 'also write the PNG here')
    .action(
      action(
        async (
          prompt: string,
          opts: { model?: string; steps?: string; seed?: string; size?: string; negative?: string; guidance?: string; scheduler?: 'euler' | 'euler-ancestral' | 'lcm'; init?: string; strength?: string; out?: string },
        ) => {
          const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
          const result = await call('preview.generate', {
            prompt,
            modelId: opts.model,
            steps: num(opts.steps),
            seed: num(opts.seed),
            ...(opts.size ? parseSize(opts.size) : {}),
            negativePrompt: opts.negative,
            guidanceScale: num(opts.guidance),
            scheduler: opts.scheduler,
            initImageId: opts.init ? await resolveImageId(opts.init) : undefined,
            strength: num(opts.strength),
          });
          const written = opts.out ? await writeImages(opts.out, result.images.map((image) => async () => image.dataUrl)) : [];
          const { images: _images, ...summary } = result;
          out().result({ ...summary, images: result.images.map((i) => ({ imageId: i.imageId })), written }, () => formatPreview(result, written));
        },
      ),
    );

  program
    .command('tokenize <prompt>')
    .description("Count a prompt's CLIP tokens with a local model's tokenizer and show the words past the 77-token limit")
    .option('--model <id>', 'local model id')
    .action(
      action(async (prompt: string, opts: { model?: string }) => {
        const result = await call('prompt.tokenize', { text: prompt, modelId: opts.model });
        out().result(result, () => `${result.tokenCount} of ${result.maxTokens} tokens${result.truncated ? `\ncut (the model will not see): ${result.cutWords.join(' ')}` : ''}`);
      }),
    );

  program
    .command('gallery')
    .description('Stored images, newest first, with the settings that made them')
    .option('--limit <n>', 'how many', '20')
    .action(
      action(async (opts: { limit: string }) => {
        const items = await call('gallery.list', { limit: Number(opts.limit) });
        const rows = items.map(({ thumbnail: _thumbnail, ...rest }) => rest);
        out().result(rows, () =>
          rows.length === 0
            ? 'No images yet.'
            : rows
                .map((i) => `${i.id.slice(0, 16)}  ${i.createdAt.slice(0, 16).replace('T', ' ')}  ${i.source.padEnd(13)} ${i.width}×${i.height}  ${i.parameters?.prompt.slice(0, 60) ?? ''}`)
                .join('\n'),
        );
      }),
    );

  program
    .command('export <id>')
    .description('Write a stored image as PNG (generation parameters embedded), WebP or AVIF')
    .addOption(new Option('--format <format>').choices(['png', 'webp', 'avif']).default('png'))
    .option('--quality <1-100>', 'WebP/AVIF quality')
    .option('--out <file>', 'where to write it (default: the exports folder in the data directory)')
    .action(
      action(async (id: string, opts: { format: 'png' | 'webp' | 'avif'; quality?: string; out?: string }) => {
        const fullId = await resolveImageId(id);
        const result = await call('images.export', {
          id: fullId,
          format: opts.format,
          quality: opts.quality === undefined ? undefined : Number(opts.quality),
          outPath: opts.out ? path.resolve(opts.out) : undefined,
        });
        out().result(result, () => `Wrote ${result.path} (${(result.bytes / 1024).toFixed(0)} KiB ${result.mime})`);
      }),
    );

  /** Lets people paste the 16-character prefix `gallery` prints. */
  async function resolveImageId(prefix: string): Promise<string> {
    if (/^[0-9a-f]{64}$/.test(prefix)) return prefix;
    const matches = (await call('gallery.list', { limit: 200 })).filter((i) => i.id.startsWith(prefix.toLowerCase()));
    if (matches.length !== 1) {
      throw userError(matches.length === 0 ? `No image id starts with "${prefix}".` : `"${prefix}" matches ${matches.length} images.`, 'Run `imagebench gallery` and copy more of the id.');
    }
    return matches[0]!.id;
  }

  program
    .command('spend')
    .description('What has been spent, from the local ledger')
    .addOption(new Option('--by <grouping>', 'group by').choices(['day', 'provider', 'model', 'project']).default('day'))
    .option('--since <date>', 'only spend from this date (YYYY-MM-DD)')
    .option('--csv', 'print the whole ledger as CSV')
    .action(
      action(async (opts: { by: 'day' | 'provider' | 'model' | 'project'; since?: string; csv?: boolean }) => {
        if (opts.csv) {
          const { csv } = await call('spend.csv', { since: opts.since });
          process.stdout.write(csv.endsWith('\n') ? csv : csv + '\n');
          return;
        }
        const totals = await call('spend.totals', { by: opts.by, since: opts.since });
        out().result(totals, () =>
          totals.length === 0
            ? 'Nothing spent yet.'
            : totals
                .map((t) => `${(t.key || '(none)').padEnd(40)} ${formatUsd(t.billedUsd).padStart(10)}${t.reservedUsd > 0 ? `  (+${formatUsd(t.reservedUsd)} held)` : ''}  ${t.requests} request${t.requests === 1 ? '' : 's'}`)
                .join('\n'),
        );
      }),
    );

  const budget = program.command('budget').description('Spending limits per day, week or month: soft limits warn, hard limits block');
  budget
    .command('show')
    .description('Every budget with what is used and left this period')
    .action(
      action(async () => {
        const list = await call('budgets.list', {});
        out().result(list, () => (list.length === 0 ? 'No budgets. Add one: imagebench budget set --period month --hard 50' : list.map(formatBudget).join('\n')));
      }),
    );
  budget
    .command('set')
    .description('Create or change a budget')
    .addOption(new Option('--period <period>', 'calendar period in your time zone').choices(['day', 'week', 'month']).makeOptionMandatory())
    .option('--provider <id>', 'limit one provider')
    .option('--project <name>', 'limit one project')
    .option('--soft <usd>', 'warn past this many dollars')
    .option('--hard <usd>', 'refuse to spend past this many dollars')
    .action(
      action(async (opts: { period: 'day' | 'week' | 'month'; provider?: string; project?: string; soft?: string; hard?: string }) => {
        if (opts.provider && opts.project) throw userError('A budget limits a provider or a project, not both.');
        const scope = opts.provider ? 'provider' : opts.project ? 'project' : 'global';
        const list = await call('budgets.set', {
          scope,
          scopeValue: opts.provider ?? opts.project,
          period: opts.period,
          softUsd: opts.soft === undefined ? undefined : parseUsd(opts.soft),
          hardUsd: opts.hard === undefined ? undefined : parseUsd(opts.hard),
        });
        out().result(list, () => list.map(formatBudget).join('\n'));
      }),
    );
  budget
    .command('remove')
    .description('Delete a budget')
    .addOption(new Option('--period <period>').choices(['day', 'week', 'month']).makeOptionMandatory())
    .option('--provider <id>')
    .option('--project <name>')
    .action(
      action(async (opts: { period: 'day' | 'week' | 'month'; provider?: string; project?: string }) => {
        const scope = opts.provider ? 'provider' : opts.project ? 'project' : 'global';
        const list = await call('budgets.remove', { scope, scopeValue: opts.provider ?? opts.project, period: opts.period });
        out().result(list, () => (list.length === 0 ? 'No budgets left.' : list.map(formatBudget).join('\n')));
      }),
    );

  const studio = program.command('studio').description('Studio mode: a shared policy and ledger in the studio\'s PostgreSQL database');
  studio
    .command('status')
    .description('Connection, policy, and offline rows waiting to sync')
    .action(
      action(async () => {
        const status = await call('studio.status', {});
        out().result(status, () => formatStudio(status));
        if (status.configured && !status.online) exitCode = EXIT_USER;
      }),
    );
  studio
    .command('connect <url>')
    .description('Join a studio (postgresql://user@host:port/db); a password is read from stdin, never argv, and kept in the keychain')
    .requiredOption('--studio <id>', 'studio id (one database can hold several studios)')
    .requiredOption('--member <name>', 'who you are, for per-member limits')
    .option('--seat <name>', 'this installation (default: the host name)')
    .option('--password-stdin', 'read the database password from stdin')
    .action(
      action(async (url: string, opts: { studio: string; member: string; seat?: string; passwordStdin?: boolean }) => {
        if (/^postgres(ql)?:\/\/[^/@]*:[^/@]*@/.test(url)) {
          throw userError('Put no password in the URL: it would stay in your shell history.', 'Use --password-stdin: printf %s "$PGPASSWORD" | imagebench studio connect … --password-stdin');
        }
        const password = opts.passwordStdin ? await readSecret('Studio database password (input hidden): ') : undefined;
        const status = await call('studio.connect', { url, studioId: opts.studio, member: opts.member, seat: opts.seat, password });
        out().result(status, () => formatStudio(status));
      }),
    );
  studio
    .command('policy')
    .description("Change the studio's policy (admins); amounts in dollars per calendar month")
    .option('--cap <usd>', 'studio monthly cap')
    .option('--member-limit <usd>', 'default monthly limit per member')
    .option('--max-per-image <usd>', 'refuse any final dearer than this per image')
    .option('--allow-providers <ids>', 'comma-separated provider ids; "all" for no restriction')
    .addOption(new Option('--offline <rule>', 'when the database is unreachable').choices(['block', 'allowance']))
    .option('--allowance <usd>', 'per-seat offline allowance')
    .action(
      action(async (opts: { cap?: string; memberLimit?: string; maxPerImage?: string; allowProviders?: string; offline?: 'block' | 'allowance'; allowance?: string }) => {
        const usd = (v: string | undefined) => (v === undefined ? undefined : parseUsd(v));
        const policy = await call('studio.setPolicy', {
          studioMonthlyCapUsd: usd(opts.cap),
          memberMonthlyLimitUsd: usd(opts.memberLimit),
          maxPricePerImageUsd: usd(opts.maxPerImage),
          allowedProviders: opts.allowProviders === undefined ? undefined : opts.allowProviders === 'all' ? null : opts.allowProviders.split(',').map((p) => p.trim()),
          offlineRule: opts.offline,
          offlineAllowanceUsd: usd(opts.allowance),
        });
        out().result(policy, () => formatPolicy(policy));
      }),
    );
  studio
    .command('disconnect')
    .description('Leave studio mode on this computer')
    .action(
      action(async () => {
        const status = await call('studio.disconnect', {});
        out().result(status, () => status.message);
      }),
    );

  program
    .command('generate <prompt>')
    .description('Render a cloud final: shows the price, asks above your threshold, reserves the budget, waits for the image')
    .requiredOption('--provider <id>', 'provider id (see `imagebench providers`)')
    .requiredOption('--model <id>', 'model id (see `imagebench providers --models`)')
    .option('--size <WxH>', 'image size, e.g. 1024x1024')
    .option('--aspect <W:H>', 'aspect ratio, for models that take one')
    .option('--n <count>', 'number of images', '1')
    .option('--seed <n>', 'seed, where the model takes one (a seeded request can be served from the cache)')
    .option('--quality <q>', 'quality tier, where the model has them')
    .option('--negative <prompt>', 'negative prompt, where the model takes one')
    .option('--init <imageId>', 'image-to-image from a stored image (e.g. the preview you liked)')
    .option('--max-usd <usd>', 'for a model without a listed price: the most you agree to pay')
    .option('--out <file.png>', 'also write the image(s) here')
    .option('-y, --yes', 'do not ask before spending above the confirmation threshold')
    .action(
      action(
        async (
          prompt: string,
          opts: { provider: string; model: string; size?: string; aspect?: string; n: string; seed?: string; quality?: string; negative?: string; init?: string; maxUsd?: string; out?: string; yes?: boolean },
        ) => {
          if (!opts.size && !opts.aspect) throw userError('Give --size WxH or --aspect W:H.');
          const shape = { provider: opts.provider as never, model: opts.model, ...(opts.size ? parseSize(opts.size) : {}), aspectRatio: opts.aspect, n: Number(opts.n), quality: opts.quality };
          const priced = await call('finals.estimate', { ...shape, prompt, img2img: Boolean(opts.init) });
          const upper = priced.estimate.kind === 'exact' ? priced.estimate.usd : priced.estimate.kind === 'range' ? priced.estimate.maxUsd : null;
          if (!out().json) process.stderr.write(`Estimate: ${priced.text}${priced.estimate.kind === 'unknown' ? ` (${priced.estimate.reason})` : ''}\n`);
          if (upper === null && opts.maxUsd === undefined) {
            throw userError('This model has no listed price, so nothing was sent.', 'Pass --max-usd <amount> to cap what you agree to pay.');
          }
          if (priced.needsConfirmation && upper !== null && !opts.yes) {
            if (!process.stdin.isTTY) throw userError(`This final may cost up to ${formatUsd(upper)}, above your confirmation threshold; nothing was sent.`, 'Pass --yes to confirm.');
            if (!(await confirm(`Spend up to ${formatUsd(upper)}? [y/N] `))) throw userError('Not confirmed; nothing was sent.');
          }
          const queued = await call('finals.submit', {
            ...shape,
            prompt,
            negativePrompt: opts.negative,
            seed: opts.seed === undefined ? undefined : Number(opts.seed),
            initImageId: opts.init ? await resolveImageId(opts.init) : undefined,
            confirmedAboveUsd: upper ?? undefined,
            confirmUnknownPriceMaxUsd: upper === null && opts.maxUsd !== undefined ? parseUsd(opts.maxUsd) : undefined,
          });
          const job = queued.status === 'succeeded' || queued.status === 'failed' ? queued : await call('finals.wait', { id: queued.id });
          const written =
            opts.out && job.status === 'succeeded'
              ? await writeImages(opts.out, job.imageIds.map((id) => async () => (await call('images.get', { id: id as never })).dataUrl))
              : [];
          out().result({ ...job, written }, () => formatJob(job, written));
          if (job.status !== 'succeeded') exitCode = job.error?.code === 'internal' ? EXIT_INTERNAL : EXIT_USER;
        },
      ),
    );

  const finalsCmd = program.command('finals').description('Cloud final jobs');
  finalsCmd
    .command('list')
    .description('Recent jobs with status and cost')
    .option('--limit <n>', 'how many', '20')
    .action(
      action(async (opts: { limit: string }) => {
        const jobs = await call('finals.list', { limit: Number(opts.limit) });
        out().result(jobs, () => (jobs.length === 0 ? 'No finals yet.' : jobs.map((j) => formatJob(j, []).split('\n')[0]).join('\n')));
      }),
    );
  finalsCmd
    .command('resume')
    .description('Resume polling jobs a stopped app left accepted (the app and web mode do this at start)')
    .action(
      action(async () => {
        await (await core()).startBackgroundWork();
        const open = (await call('finals.list', { limit: 200 })).filter((j) => ['queued', 'reserving', 'accepted'].includes(j.status));
        const done = await Promise.all(open.map((j) => call('finals.wait', { id: j.id })));
        out().result(done, () => (done.length === 0 ? 'Nothing to resume.' : done.map((j) => formatJob(j, []).split('\n')[0]).join('\n')));
      }),
    );
  finalsCmd
    .command('cancel <id>')
    .description('Cancel a job (at the provider too, where its API allows)')
    .action(
      action(async (id: string) => {
        const job = await call('finals.cancel', { id });
        out().result(job, () => formatJob(job, []));
      }),
    );
  finalsCmd
    .command('release <id>')
    .description('Settle a job whose submission outcome is unknown, after checking the provider dashboard')
    .option('--billed <usd>', 'what the provider dashboard shows it cost (omit if it never arrived)')
    .action(
      action(async (id: string, opts: { billed?: string }) => {
        const job = await call('finals.releaseUnknown', { id, billedUsd: opts.billed === undefined ? undefined : parseUsd(opts.billed) });
        out().result(job, () => formatJob(job, []));
      }),
    );

  program
    .command('estimate [prompt]')
    .description('What a cloud final will cost, before anything is spent')
    .requiredOption('--provider <id>', 'provider id (see `imagebench providers`)')
    .requiredOption('--model <id>', 'model id (see `imagebench providers --models`)')
    .option('--size <WxH>', 'image size, e.g. 1024x1024')
    .option('--aspect <W:H>', 'aspect ratio, for models that take one, e.g. 16:9')
    .option('--n <count>', 'number of images', '1')
    .option('--quality <q>', 'quality tier, where the model has them (low, medium, high, hd …)')
    .option('--img2img', 'price it with an input image')
    .action(
      action(async (prompt: string | undefined, opts: { provider: string; model: string; size?: string; aspect?: string; n: string; quality?: string; img2img?: boolean }) => {
        const size = opts.size ? parseSize(opts.size) : {};
        if (!opts.size && !opts.aspect) throw userError('Give --size WxH or --aspect W:H.');
        const result = await call('finals.estimate', {
          provider: opts.provider as never,
          model: opts.model,
          prompt: prompt ?? '',
          ...size,
          aspectRatio: opts.aspect,
          n: Number(opts.n),
          quality: opts.quality,
          img2img: Boolean(opts.img2img),
        });
        out().result(result, () => {
          const e = result.estimate;
          const why = e.kind === 'unknown' ? e.reason : e.basis;
          return `${result.text}  (${why})${result.needsConfirmation ? '\nAbove your confirmation threshold: generating will ask first.' : ''}`;
        });
      }),
    );

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0 through here; parse errors already printed their message.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USER;
    }
    return createOutput(Boolean(program.opts<Globals>().json)).fail(error);
  } finally {
    if (corePromise) await (await corePromise.catch(() => null))?.close();
  }
  return exitCode;
}

function parseUsd(raw: string): number {
  const value = Number(raw.replace(/^\$/, ''));
  if (!Number.isFinite(value) || value < 0) throw userError(`"${raw}" is not an amount of dollars.`, 'Write it like 25 or 7.50.');
  return value;
}

function formatPolicy(p: StudioPolicyView): string {
  const money = (v: number | null) => (v === null ? 'none' : formatUsd(v));
  return [
    `studio cap ${money(p.studioMonthlyCapUsd)}/month · member limit ${money(p.memberMonthlyLimitUsd)}/month · max per image ${money(p.maxPricePerImageUsd)}`,
    `providers: ${p.allowedProviders?.join(', ') ?? 'all'} · offline: ${p.offlineRule === 'block' ? 'block paid finals' : `allow ${formatUsd(p.offlineAllowanceUsd)} per seat`}`,
  ].join('\n');
}

function formatStudio(s: StudioStatus): string {
  const lines = [s.message];
  if (s.policy) lines.push(formatPolicy(s.policy));
  if (s.pendingSync > 0) lines.push(`${s.pendingSync} offline row(s) waiting to sync`);
  return lines.join('\n');
}

function formatBudget(b: BudgetStatus): string {
  const what = b.scope === 'global' ? 'all spend' : `${b.scope} ${b.scopeValue}`;
  const limits = [b.softUsd !== null ? `soft ${formatUsd(b.softUsd)}` : null, b.hardUsd !== null ? `hard ${formatUsd(b.hardUsd)}` : null].filter(Boolean).join(', ');
  const left = b.remainingUsd !== null ? `, ${formatUsd(b.remainingUsd)} left` : '';
  return `${b.period.padEnd(6)} ${what.padEnd(28)} ${limits.padEnd(30)} used ${formatUsd(b.usedUsd)}${left}`;
}

function parseSize(raw: string): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/i.exec(raw.trim());
  if (!match) throw userError(`"${raw}" is not a size.`, 'Write it as WIDTHxHEIGHT, e.g. 1024x1024.');
  return { width: Number(match[1]), height: Number(match[2]) };
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function formatKey(status: KeyStatus): string {
  if (!status.set) return `${status.provider.padEnd(11)} not set`;
  return `${status.provider.padEnd(11)} set (…${status.last4 ?? '????'}, from ${status.source})`;
}

/** `--out fox.png` writes fox.png for one image, fox-1.png, fox-2.png … for several. */
async function writeImages(out: string, images: Array<() => Promise<string>>): Promise<string[]> {
  const written: string[] = [];
  for (const [i, dataUrl] of images.entries()) {
    const file = path.resolve(images.length === 1 ? out : out.replace(/(\.png)?$/i, `-${i + 1}.png`));
    await fs.writeFile(file, fromDataUrl(await dataUrl()));
    written.push(file);
  }
  return written;
}

function formatJob(j: CallOutput<'finals.get'>, written: string[]): string {
  const cost = j.cacheSavedUsd !== null ? `$0 (cached, saved ${formatUsd(j.cacheSavedUsd)})` : j.actualUsd !== null ? `${formatUsd(j.actualUsd)} (${j.actualSource})` : `estimate ${j.estimateText}`;
  const lines = [
    `${j.id.slice(0, 8)}  ${j.status.padEnd(18)} ${j.provider}/${j.model}  ${cost}`,
    j.message,
    j.error ? `${j.error.message}${j.error.hint ? `\nhint: ${j.error.hint}` : ''}` : null,
    ...j.imageIds.map((id) => `image ${id.slice(0, 16)}`),
    ...written.map((f) => `wrote ${f}`),
  ];
  return lines.filter((l): l is string => Boolean(l)).join('\n');
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function formatPreview(r: CallOutput<'preview.generate'>, written: string[]): string {
  const t = r.timings;
  const lines = [
    `${r.family} · ${r.width}×${r.height} · ${r.steps} step${r.steps === 1 ? '' : 's'} (${r.scheduler}) · seed ${r.seed} · ${r.executionProvider}`,
    r.fallbackReason ? `fallback: ${r.fallbackReason}` : null,
    r.prompt.truncated ? `cut from the prompt (past 77 tokens): ${r.prompt.cutWords.join(' ')}` : null,
    `load ${t.loadMs.toFixed(0)} ms · tokenize ${t.tokenizeMs.toFixed(1)} ms · text encoder ${t.textEncodeMs.toFixed(1)} ms · unet ${t.unetStepMs.map((m) => m.toFixed(1)).join(' + ')} ms · vae ${t.vaeDecodeMs.toFixed(1)} ms · total ${t.totalMs.toFixed(0)} ms`,
    ...r.images.map((i) => `image ${i.imageId.slice(0, 16)}`),
    ...written.map((f) => `wrote ${f}`),
  ];
  return lines.filter((l): l is string => l !== null).join('\n');
}

function formatModel(m: ModelEntry): string {
  const size = `${(m.sizeBytes / 1024 ** 3).toFixed(2)} GiB`;
  return `${m.id.padEnd(22)} ${m.family}${m.turbo ? ' (turbo)' : ''}  ${m.defaults.width}×${m.defaults.height}, ${m.defaults.steps} steps  ${size}  ${m.path}`;
}

function licenceLine(m: ModelEntry): string {
  return m.licence.commercialUse === 'allowed with use restrictions' ? '' : `\nLicence: ${m.licence.name} — ${m.licence.note}`;
}

function formatDoctor(report: DoctorReport): string {
  const mark = { ok: '✓', warn: '!', fail: '✗' } as const;
  return report.checks
    .map((c) => `${mark[c.status]} ${c.name.padEnd(15)} ${c.detail}${c.hint ? `\n  ${' '.repeat(15)} → ${c.hint}` : ''}`)
    .join('\n');
}
