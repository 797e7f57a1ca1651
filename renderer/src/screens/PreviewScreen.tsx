import { useState } from 'react';
import { EmptyState, Panel } from '../components/Panel.js';
import { useSettings } from '../store/settings.js';

const SIZES = [512, 768, 1024];
const EXECUTION_PROVIDERS = ['auto', 'cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const;

export function PreviewScreen() {
  const preview = useSettings((s) => s.settings?.preview);
  const update = useSettings((s) => s.update);
  const [prompt, setPrompt] = useState('');

  if (!preview) return <p className="muted">Loading…</p>;
  return (
    <div className="preview-layout">
      <Panel title="Prompt">
        <label className="field">
          <span>Prompt</span>
          <textarea rows={5} value={prompt} placeholder="a lighthouse at dusk, volumetric light, 35mm" onChange={(e) => setPrompt(e.target.value)} />
        </label>
        <div className="field-row">
          <label className="field">
            <span>Steps</span>
            <input type="number" min={1} max={50} value={preview.steps} onChange={(e) => void update('preview.steps', Number(e.target.value))} />
          </label>
          <label className="field">
            <span>Width</span>
            <select value={preview.width} onChange={(e) => void update('preview.width', Number(e.target.value))}>
              {SIZES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>Height</span>
            <select value={preview.height} onChange={(e) => void update('preview.height', Number(e.target.value))}>
              {SIZES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
        </div>
        <div className="field-row">
          <label className="field">
            <span>Execution provider</span>
            <select value={preview.executionProvider} onChange={(e) => void update('preview.executionProvider', e.target.value)}>
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
      </Panel>
      <Panel title="Local preview">
        <EmptyState title="No local model imported">
          Previews run on your own GPU with an ONNX export of SD-Turbo, SDXL-Turbo or an LCM model. Import a model folder with{' '}
          <code>imagebench models import &lt;folder&gt;</code> to start.
        </EmptyState>
      </Panel>
    </div>
  );
}
