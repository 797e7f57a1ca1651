import { useEffect, useState } from 'react';
import { useModels } from '../store/models.js';
import { EmptyState, Panel } from './Panel.js';

const GIB = 1024 ** 3;

export function ModelsPanel() {
  const models = useModels((s) => s.models);
  const busy = useModels((s) => s.busy);
  const error = useModels((s) => s.error);
  const download = useModels((s) => s.download);
  const load = useModels((s) => s.load);
  const importFolder = useModels((s) => s.importFolder);
  const downloadArchive = useModels((s) => s.downloadArchive);
  const remove = useModels((s) => s.remove);
  const [folder, setFolder] = useState('');
  const [url, setUrl] = useState('');
  const [sha, setSha] = useState('');

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <Panel title="Local models">
      {models.length === 0 ? (
        <EmptyState title="No local models">Import an ONNX export folder (SD-Turbo, SDXL-Turbo, LCM, SD 1.5, SDXL) or download an archive of one.</EmptyState>
      ) : (
        <ul className="model-list" aria-label="Installed models">
          {models.map((m) => (
            <li key={m.id} className="model-row" data-model={m.id}>
              <div>
                <strong>{m.name}</strong> <span className="chip">{m.family}{m.turbo ? ' · turbo' : ''}</span>
                <div className="muted small">
                  {m.defaults.width}×{m.defaults.height} · {m.defaults.steps} step{m.defaults.steps === 1 ? '' : 's'} · {(m.sizeBytes / GIB).toFixed(2)} GiB · <code>{m.path}</code>
                </div>
                {m.licence.commercialUse !== 'allowed with use restrictions' && (
                  <div className="licence-note small" role="note">
                    Licence: {m.licence.name}. {m.licence.note}
                  </div>
                )}
              </div>
              <button type="button" disabled={busy} onClick={() => void remove(m.id, m.managed)}>
                {m.managed ? 'Delete' : 'Remove'}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void importFolder(folder).then((ok) => ok && setFolder(''));
        }}
      >
        <input aria-label="Model folder" placeholder="/path/to/sd-turbo-onnx" value={folder} onChange={(e) => setFolder(e.target.value)} />
        <button type="submit" disabled={busy || folder.trim() === ''}>
          Import folder
        </button>
      </form>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void downloadArchive(url, sha.trim() || undefined).then((ok) => ok && (setUrl(''), setSha('')));
        }}
      >
        <input aria-label="Archive URL" placeholder="https://…/sd-turbo-onnx.tar.gz" value={url} onChange={(e) => setUrl(e.target.value)} />
        <input aria-label="sha256 (optional)" placeholder="sha256 (optional)" value={sha} onChange={(e) => setSha(e.target.value)} className="sha" />
        <button type="submit" disabled={busy || url.trim() === ''}>
          Download
        </button>
      </form>
      {download && (
        <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={download.totalBytes ?? undefined} aria-valuenow={download.receivedBytes}>
          <div className="progress-fill" style={{ width: download.totalBytes ? `${(100 * download.receivedBytes) / download.totalBytes}%` : '100%' }} />
          <span>
            {download.phase === 'downloading' ? `${(download.receivedBytes / 1024 ** 2).toFixed(1)} MiB${download.totalBytes ? ` of ${(download.totalBytes / 1024 ** 2).toFixed(1)} MiB` : ''}` : `${download.phase}…`}
          </span>
        </div>
      )}
      {error && <p className="error">{error}</p>}
    </Panel>
  );
}
