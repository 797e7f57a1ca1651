/**
 * The messages between `WorkerEngine` (host) and `worker-entry` (the inference worker). Each side
 * parses what it receives with these schemas: a worker is a process border like any other.
 * Typed arrays travel as themselves (structured clone), not as JSON.
 */
import { z } from 'zod';
import {
  ErrorPayloadSchema,
  Float32ArraySchema,
  GenerateRequestSchema,
  GenerateResultSchema,
  ModelInfoSchema,
  StepProgressSchema,
  TokenizeResultSchema,
} from '../engine.js';

const id = z.number().int().positive();

export const HostMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('generate'), id, request: GenerateRequestSchema }),
  z.object({ type: z.literal('embed'), id, modelDir: z.string().min(1), text: z.string() }),
  z.object({ type: z.literal('tokenize'), id, modelDir: z.string().min(1), text: z.string() }),
  z.object({ type: z.literal('inspect'), id, modelDir: z.string().min(1) }),
  /** Stop request `id` at its next step boundary (or before it starts). */
  z.object({ type: z.literal('cancel'), id }),
  /** Round trip for health checks and the benchmark. */
  z.object({ type: z.literal('ping'), id }),
  /** Release the sessions and exit. */
  z.object({ type: z.literal('shutdown') }),
]);
export type HostMessage = z.infer<typeof HostMessageSchema>;
/** What the host writes (request defaults may be left to the worker's parse). */
export type HostMessageInput = z.input<typeof HostMessageSchema>;

export const WorkerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number().int(), threadId: z.number().int() }),
  z.object({ type: z.literal('progress'), id, progress: StepProgressSchema }),
  z.object({ type: z.literal('generated'), id, result: GenerateResultSchema }),
  z.object({ type: z.literal('embedded'), id, embedding: Float32ArraySchema }),
  z.object({ type: z.literal('tokenized'), id, result: TokenizeResultSchema }),
  z.object({ type: z.literal('inspected'), id, info: ModelInfoSchema }),
  z.object({ type: z.literal('pong'), id }),
  /** The request stopped because the host cancelled it; `stepsAfterCancel` as in GenerationCancelledError. */
  z.object({ type: z.literal('cancelled'), id, message: z.string(), stepsAfterCancel: z.number().int().min(0) }),
  z.object({ type: z.literal('failed'), id, error: ErrorPayloadSchema }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessageSchema>;
export type WorkerMessageInput = z.input<typeof WorkerMessageSchema>;

/** First issue of a failed parse, for error messages. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'unexpected contents';
  return `${issue.path.length > 0 ? issue.path.join('.') : 'message'}: ${issue.message}`;
}
