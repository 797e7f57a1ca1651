import { useEffect, useState } from 'react';
import type { FinalJobView } from '../../../src/contract/index.js';
import { formatUsd } from '../../../src/contract/index.js';
import { api } from '../bridge.js';
import { useFinals } from '../store/finals.js';
import { EmptyState } from './Panel.js';

const OPEN = new Set(['queued', 'reserving', 'submitting', 'accepted']);

/** Full-size image by id, fetched once through the contract (the sandboxed page has no file access). */
function StoredImage({ id, alt }: { id: string; alt: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.call('images.get', { id }).then(
      (image) => live && setSrc(image.dataUrl),
      () => live && setSrc(null),
    );
    return () => {
      live = false;
    };
  }, [id]);
  return src ? <img src={src} alt={alt} /> : <div className="img-placeholder" aria-label={alt} />;
}

export function FinalJobs() {
  const jobs = useFinals((s) => s.jobs);
  const loadJobs = useFinals((s) => s.loadJobs);
  const cancel = useFinals((s) => s.cancel);
  const previewFor = useFinals((s) => s.previewFor);

  useEffect(() => {
    void loadJobs();
  }, [loadJobs]);

  if (jobs.length === 0) return <EmptyState title="Nothing escalated yet">Finals you generate appear here beside the preview they came from.</EmptyState>;
  return (
    <ul className="jobs" aria-label="Final jobs">
      {jobs.map((job) => (
        <li key={job.id} className={`job job-${job.status}`} data-job={job.id}>
          <div className="job-head">
            <strong>
              {job.provider} · {job.model}
            </strong>
            <span className="job-status">{job.status}</span>
            <span className="job-cost">{costLine(job)}</span>
            {OPEN.has(job.status) && (
              <button type="button" onClick={() => void cancel(job.id)}>
                Cancel
              </button>
            )}
          </div>
          <p className="muted small">{job.prompt}</p>
          {job.message && <p className="small job-message">{job.message}</p>}
          {job.error && (
            <p className="error small">
              {job.error.message} {job.error.hint}
            </p>
          )}
          {job.imageIds.length > 0 && (
            <div className="compare" aria-label="Compare">
              {(job.initImageId ?? previewFor[job.id]) && (
                <figure>
                  <StoredImage id={(job.initImageId ?? previewFor[job.id])!} alt="Preview" />
                  <figcaption>Preview</figcaption>
                </figure>
              )}
              {job.imageIds.map((id) => (
                <figure key={id}>
                  <StoredImage id={id} alt="Final" />
                  <figcaption>Final</figcaption>
                </figure>
              ))}
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}

function costLine(job: FinalJobView): string {
  if (job.cacheSavedUsd !== null) return `$0 · cached, saved ${formatUsd(job.cacheSavedUsd)}`;
  if (job.actualUsd !== null) return `${formatUsd(job.actualUsd)} (estimate ${job.estimateText})`;
  return `estimate ${job.estimateText}`;
}
