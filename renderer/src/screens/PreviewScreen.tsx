import { useEffect } from 'react';
import { EmptyState, Panel } from '../components/Panel.js';
import { useFinals } from '../store/finals.js';
import { useModels } from '../store/models.js';
import { useNavigation } from '../store/navigation.js';
import { usePreview } from '../store/preview.js';
import { useSettings } from '../store/settings.js';

const SIZES = [256, 384, 512, 640, 768, 1024];
const EXECUTION_PROVIDERS = ['auto', 'cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const;

export function PreviewScreen() {
  const preview = useSettings((s) => s.settings?.preview);
  const update = useSettings((s) => s.update);
  const models = useModels((s) => s.models);
  const loadModels = useModels((s) => s.load);

  useEffect(() => {
    void loadModels();
  }, [loadModels]);

  if (!preview) return <p className="muted">Loading…</p>;
  const modelId = preview.modelId ?? (models.length === 1 ? (models[0]?.id ?? null) : null);
  const model = models.find((m) => m.id === modelId);
  const options = { modelId, steps: preview.steps, width: preview.width, height: preview.height };

  return (
    <div className="preview-layout">
      <Panel title="Prompt">
        <label className="field">
          <span>Model</span>
          <select aria-label="Model" value={modelId ?? ''} onChange={(e) => void update('preview.modelId', e.target.value || null)}>
            {models.length === 0 && <option value="">No local model installed</option>}
            {models.length > 1 && !modelId && <option value="">Choose a model…</option>}
            {models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name} ({m.family}
                {m.turbo ? ', turbo' : ''})
              </option>
            ))}
          </select>
        </label>
        {model && model.licence.commercialUse !== 'allowed with use restrictions' && (
          <p className="licence-note small" role="note">
            {model.licence.name}: {model.licence.commercialUse}.
          </p>
        )}
        <PromptFields live={preview.liveMode} options={options} />
        <div className="field-row">
          <label className="field">
            <span>Steps</span>
            <input type="number" min={1} max={50} value={preview.steps} onChange={(e) => void update('preview.steps', Number(e.target.value))} />
          </label>
          <label className="field">
            <span>Width</span>
            <select aria-label="Width" value={preview.width} onChange={(e) => void update('preview.width', Number(e.target.value))}>
              {SIZES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Height</span>
            <select aria-label="Height" value={preview.height} onChange={(e) => void update('preview.height', Number(e.target.value))}>
              {SIZES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
        </div>
        <div className="field-row">
          <label className="field">
            <span>Execution provider</span>
            <select aria-label="Execution provider" value={preview.executionProvider} onChange={(e) => void update('preview.executionProvider', e.target.value)}>
              {EXECUTION_PROVIDERS.map((ep) => (
                <option key={ep}>{ep}</option>
              ))}
            </select>
          </label>
          <label className="check">
            <input type="checkbox" checked={preview.liveMode} onChange={(e) => void update('preview.liveMode', e.target.checked)} />
            Live mode (render while typing)
          </label>
        </div>
        <RenderButtons options={options} disabled={!modelId} />
      </Panel>
      <ResultPanel hasModel={models.length > 0} />
    </div>
  );
}

type RenderOptions = { modelId: string | null; steps: number; width: number; height: number };

function PromptFields({ live, options }: { live: boolean; options: RenderOptions }) {
  const draft = usePreview((s) => s.draft);
  const tokens = usePreview((s) => s.tokens);
  const setDraft = usePreview((s) => s.setDraft);
  const over = tokens !== null && tokens.cutWords.length > 0;
  return (
    <>
      <label className="field">
        <span>
          Prompt
          {tokens && (
            <em className={over ? 'token-count over' : 'token-count'} data-testid="token-count">
              {tokens.tokenCount} / {tokens.maxTokens} tokens
            </em>
          )}
        </span>
        <textarea
          aria-label="Prompt"
          rows={5}
          value={draft.prompt}
          placeholder="a lighthouse at dusk, volumetric light, 35mm"
          onChange={(e) => setDraft({ prompt: e.target.value }, { live, ...options })}
        />
      </label>
      {over && <p className="warn small">Past the 77-token limit, the model will not see: {tokens.cutWords.join(' ')}</p>}
      <div className="field-row">
        <label className="field">
          <span>Negative prompt</span>
          <input value={draft.negativePrompt} onChange={(e) => setDraft({ negativePrompt: e.target.value }, { live, ...options })} placeholder="used by models with guidance" />
        </label>
        <label className="field narrow-2">
          <span>Seed</span>
          <input aria-label="Seed" inputMode="numeric" value={draft.seed} placeholder="random" onChange={(e) => setDraft({ seed: e.target.value.replace(/\D/g, '') }, { live, ...options })} />
        </label>
      </div>
    </>
  );
}

function RenderButtons({ options, disabled }: { options: RenderOptions; disabled: boolean }) {
  const rendering = usePreview((s) => s.rendering);
  const progress = usePreview((s) => s.progress);
  const render = usePreview((s) => s.render);
  const cancel = usePreview((s) => s.cancel);
  const empty = usePreview((s) => s.draft.prompt.trim() === '');
  return (
    <div className="spend-row">
      <span className="estimate">
        <span className="estimate-label">Cost</span>
        <strong>$0</strong>
        <span className="muted small">runs on this computer</span>
      </span>
      <span className="button-row">
        {progress && (
          <button type="button" onClick={() => void cancel()}>
            Cancel
          </button>
        )}
        <button type="submit" disabled={disabled || empty || rendering} onClick={() => void render(options)}>
          {rendering ? 'Rendering…' : 'Render preview'}
        </button>
      </span>
    </div>
  );
}

function ResultPanel({ hasModel }: { hasModel: boolean }) {
  const progress = usePreview((s) => s.progress);
  const result = usePreview((s) => s.result);
  const error = usePreview((s) => s.error);
  const draftPrompt = usePreview((s) => s.draft.prompt);
  const setFinalDraft = useFinals((s) => s.setDraft);
  const go = useNavigation((s) => s.go);

  if (!hasModel) {
    return (
      <Panel title="Local preview">
        <EmptyState title="No local model imported">
          Previews run on your own GPU with an ONNX export of SD-Turbo, SDXL-Turbo or an LCM model. Import a model folder in Settings → Local models, or with{' '}
          <code>imagebench models import &lt;folder&gt;</code>.
        </EmptyState>
      </Panel>
    );
  }
  const image = result?.images[0];
  return (
    <Panel
      title="Local preview"
      actions={
        result && (
          <button
            type="button"
            onClick={() => {
              setFinalDraft({ prompt: draftPrompt, fromImageId: result.images[0]?.imageId ?? null, seed: result.seed, fromAspect: result.width / result.height });
              go('finals');
            }}
          >
            Escalate to cloud →
          </button>
        )
      }
    >
      <div className="canvas" data-testid="preview-canvas">
        {progress?.latentPreview ? (
          <img className="latent" src={progress.latentPreview} alt={`Step ${progress.step + 1} of ${progress.totalSteps}`} />
        ) : image ? (
          <img src={image.dataUrl} alt="Latest preview" data-testid="preview-image" data-image-id={image.imageId} />
        ) : (
          <p className="muted">Type a prompt: with live mode on, the preview follows as you type.</p>
        )}
        {progress && (
          <span className="step-badge" aria-live="polite">
            step {progress.step + 1} / {progress.totalSteps}
          </span>
        )}
      </div>
      {error && <p className="error">{error}</p>}
      {result && (
        <div className="result-facts small" data-testid="preview-facts">
          <span>seed {result.seed}</span>
          <span>
            {result.width}×{result.height}, {result.steps} step{result.steps === 1 ? '' : 's'} ({result.scheduler})
          </span>
          <span>{result.executionProvider}</span>
          <span>{Math.round(result.timings.totalMs)} ms</span>
          {result.fallbackReason && <span className="warn">{result.fallbackReason}</span>}
        </div>
      )}
    </Panel>
  );
}
