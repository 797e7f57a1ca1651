import { readModelFolder } from './model-folder.js';
import type { ModelFamily } from './family.js';

/** What a model manager shows about a folder, without loading any weights. */
export interface ModelSummary {
  family: ModelFamily;
  turbo: boolean;
  familyEvidence: string;
  licence: { name: string; commercialUse: 'non-commercial or licensed' | 'allowed with use restrictions' | 'check the model card'; note: string };
  defaults: { width: number; height: number; steps: number; guidanceScale: number };
}

export async function summarizeModelFolder(dir: string): Promise<ModelSummary> {
  const folder = await readModelFolder(dir);
  const { width, height, steps, guidanceScale } = folder.defaults;
  return {
    family: folder.family,
    turbo: folder.turbo,
    familyEvidence: folder.familyEvidence,
    licence: { ...folder.licence },
    defaults: { width, height, steps, guidanceScale },
  };
}
