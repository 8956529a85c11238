/**
 * Keeps a deeply nested message from overflowing the stack inside `@azure/functions`, before our handler
 * could refuse it.
 *
 * The host sends the queue message text twice: as the trigger input and as trigger metadata
 * `QueueTrigger` (a string). For every trigger but HTTP and timer, the library's
 * `InvocationModel.getArguments()` JSON-parses each metadata string that parses and then camel-cases the
 * keys of the result recursively (`fromRpcTriggerMetadata` → `toCamelCaseValue`). A message nested about
 * 2,500 levels deep (`'['.repeat(5000) + ']'.repeat(5000)`, 10 KB) throws
 * `RangeError: Maximum call stack size exceeded` there: the invocation fails before hooks or the handler
 * run, the host retries it maxDequeueCount times and moves it to poison.
 *
 * The worker lets the app replace the programming model (`@azure/functions-core`
 * `getProgrammingModel`/`setProgrammingModel`, what `@azure/functions` itself calls), so this wraps the
 * library's model and, per invocation, hands a metadata text nested deeper than
 * {@link MAX_JSON_NESTING_DEPTH} to the library as a JSON string literal. The library parses that back to
 * exactly the text, a string, and has nothing to recurse into; `context.triggerMetadata.queueTrigger` is
 * then the message text, and the handler refuses the message as Rejected.
 *
 * ```
 * host ──► worker: InvocationRequest { inputData: [text], triggerMetadata: { QueueTrigger: { string: text } } }
 *   programmingModel.getInvocationModel(coreCtx)   ◄─ wrapped: QueueTrigger { string: JSON.stringify(text) } when too deep
 *     .getArguments()   inputs: JSON.parse(text) (no recursion)   triggerMetadata: tryJsonParse → toCamelCaseValue
 *     handler(payload, context)   ─► depth check ─► Rejected record, message consumed
 * ```
 */
import { optionalModule } from '../../shared/platform/lazy';
import { MAX_JSON_NESTING_DEPTH, textNestsDeeperThan } from './nesting';

/** A value crossing the host/worker boundary (the part of `RpcTypedData` this guard reads). */
interface CoreTypedData {
  string?: string | null;
  json?: string | null;
}

/** What the worker hands the programming model for each invocation (the part this guard touches). */
interface CoreInvocationContext {
  request: { triggerMetadata?: Record<string, CoreTypedData | null | undefined> | null };
}

/** The programming model `@azure/functions` registers with the worker. */
export interface CoreProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: CoreInvocationContext): unknown;
  getCapabilities?(capabilities: Record<string, string>): unknown;
}

/** The part of the worker's `@azure/functions-core` API this guard uses. */
export interface FunctionsCoreApi {
  getProgrammingModel(): CoreProgrammingModel | undefined;
  setProgrammingModel(model: CoreProgrammingModel): void;
}

/** Options of {@link guardTriggerMetadataNesting}. */
export interface TriggerMetadataGuardOptions {
  /** @default the worker's `@azure/functions-core` (absent outside a Functions worker) */
  core?: FunctionsCoreApi;
  /** @default MAX_JSON_NESTING_DEPTH */
  maxDepth?: number;
}

/** What {@link guardTriggerMetadataNesting} did. */
export const TriggerMetadataGuard = {
  Installed: 'installed',
  AlreadyInstalled: 'alreadyInstalled',
  /** Not in a Functions worker (unit tests), or no programming model set yet. */
  NoRuntime: 'noRuntime',
} as const;
export type TriggerMetadataGuard = (typeof TriggerMetadataGuard)[keyof typeof TriggerMetadataGuard];

const GUARDED = Symbol.for('cosell-referral-bridge.triggerMetadataGuard');

const functionsCore = optionalModule<FunctionsCoreApi>(require, '@azure/functions-core');

/**
 * Wraps the programming model `@azure/functions` set (call it after the first `app.*` registration).
 * Process-wide and idempotent: every trigger of the app is covered once it ran.
 */
export function guardTriggerMetadataNesting(options: TriggerMetadataGuardOptions = {}): TriggerMetadataGuard {
  const core = options.core ?? functionsCore();
  const model = core?.getProgrammingModel();
  if (!core || !model) return TriggerMetadataGuard.NoRuntime;
  if ((model as unknown as Record<symbol, unknown>)[GUARDED]) return TriggerMetadataGuard.AlreadyInstalled;
  const maxDepth = options.maxDepth ?? MAX_JSON_NESTING_DEPTH;
  const guarded: CoreProgrammingModel & { [GUARDED]: true } = {
    [GUARDED]: true,
    name: model.name,
    version: model.version,
    getInvocationModel(coreContext) {
      const { request } = coreContext;
      if (request.triggerMetadata) request.triggerMetadata = flattenDeepEntries(request.triggerMetadata, maxDepth);
      return model.getInvocationModel(coreContext);
    },
    ...(model.getCapabilities
      ? { getCapabilities: (capabilities: Record<string, string>) => model.getCapabilities!(capabilities) }
      : {}),
  };
  core.setProgrammingModel(guarded);
  return TriggerMetadataGuard.Installed;
}

/**
 * The metadata with every text entry nested deeper than `maxDepth` replaced by the same text as a JSON
 * string literal (`{ string: '"[[[…"' }`), which the library parses back to the text itself. Entries
 * that do not start like a JSON array or object are not scanned.
 */
export function flattenDeepEntries(
  metadata: Record<string, CoreTypedData | null | undefined>,
  maxDepth: number,
): Record<string, CoreTypedData | null | undefined> {
  let result = metadata;
  for (const [key, data] of Object.entries(metadata)) {
    const field = typeof data?.string === 'string' ? 'string' : typeof data?.json === 'string' ? 'json' : undefined;
    if (!field) continue;
    const text = data![field]!;
    if (!startsLikeContainer(text) || !textNestsDeeperThan(text, maxDepth)) continue;
    if (result === metadata) result = { ...metadata };
    result[key] = { [field]: JSON.stringify(text) };
  }
  return result;
}

function startsLikeContainer(text: string): boolean {
  const first = /\S/.exec(text)?.[0];
  return first === '[' || first === '{';
}
