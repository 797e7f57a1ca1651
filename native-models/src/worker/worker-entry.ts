/**
 * The inference worker: a `PipelineEngine` behind the message protocol. `session.run` blocks this
 * thread (or utility process) for the length of each model call, never the app's. Requests run
 * one at a time in arrival order; a cancel aborts the request's signal, so it stops at its next
 * step boundary (or before starting, if still queued) and is reported as `cancelled`.
 */
import { threadId } from 'node:worker_threads';
import { AppError, toErrorPayload } from '../../../src/contract/errors.js';
import { GenerationCancelledError } from '../engine.js';
import { PipelineEngine } from '../pipelines/pipeline-engine.js';
import { connectToParent } from './parent-port.js';
import { describeIssue, HostMessageSchema, type HostMessage } from './protocol.js';

const parent = connectToParent();
const engine = new PipelineEngine();
const running = new Map<number, AbortController>();

parent.onMessage((raw) => {
  const parsed = HostMessageSchema.safeParse(raw);
  if (!parsed.success) {
    const id = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'number' ? raw.id : null;
    if (id !== null) {
      const error = new AppError('internal', `The inference worker received an invalid message: ${describeIssue(parsed.error)}`);
      parent.post({ type: 'failed', id, error: toErrorPayload(error) });
    }
    return;
  }
  void handle(parsed.data);
});
parent.post({ type: 'ready', pid: process.pid, threadId });

async function handle(message: HostMessage): Promise<void> {
  switch (message.type) {
    case 'cancel':
      running.get(message.id)?.abort();
      return;
    case 'ping':
      parent.post({ type: 'pong', id: message.id });
      return;
    case 'shutdown':
      for (const controller of running.values()) controller.abort();
      await engine.dispose();
      process.exit(0);
      return;
    default:
      await answer(message);
  }
}

async function answer(message: Exclude<HostMessage, { type: 'cancel' | 'ping' | 'shutdown' }>): Promise<void> {
  const { id } = message;
  const controller = new AbortController();
  running.set(id, controller);
  try {
    switch (message.type) {
      case 'generate': {
        const result = await engine.generate(message.request, {
          signal: controller.signal,
          onProgress: (progress) => {
            // Moved, not copied: the preview is not used here again.
            parent.post({ type: 'progress', id, progress }, progress.preview ? [progress.preview.data.buffer as ArrayBuffer] : undefined);
          },
        });
        parent.post({ type: 'generated', id, result }, result.images.map((image) => image.data.buffer as ArrayBuffer));
        return;
      }
      case 'embed':
        parent.post({ type: 'embedded', id, embedding: await engine.embedText(message.modelDir, message.text) });
        return;
      case 'tokenize':
        parent.post({ type: 'tokenized', id, result: await engine.tokenize(message.modelDir, message.text) });
        return;
      case 'inspect':
        parent.post({ type: 'inspected', id, info: await engine.inspect(message.modelDir) });
        return;
    }
  } catch (error) {
    if (error instanceof AppError && error.code === 'cancelled') {
      const stepsAfterCancel = error instanceof GenerationCancelledError ? error.stepsAfterCancel : 0;
      parent.post({ type: 'cancelled', id, message: error.message, stepsAfterCancel });
    }
    else parent.post({ type: 'failed', id, error: toErrorPayload(error) });
  } finally {
    running.delete(id);
  }
}
