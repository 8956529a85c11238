/**
 * Runs one invocation exactly as the Node.js worker's `InvocationHandler` does:
 *
 * ```
 *  model = programmingModel.getInvocationModel(coreCtx)
 *  { context, inputs } = model.getArguments()         library converters: RpcTypedData → HttpRequest, JSON, Timer...
 *  preInvocation hooks (may replace inputs / handler)
 *  result | error = model.invokeFunction(context, inputs, handler)
 *  postInvocation hooks (may replace result / error)
 *  error ? throw : model.getResponse(context, result)  → { returnValue, outputData } as RpcTypedData
 * ```
 *
 * so the library's own HttpRequest/HttpResponse, extraOutputs and return-binding conversions run.
 */
import { randomFillSync, randomUUID } from 'node:crypto';
import type {
  CoreInvocationContext,
  RpcInvocationRequest,
  RpcInvocationResponse,
  RpcLogCategory,
  RpcLogLevel,
} from './coreTypes';
import { LocalHostError } from './errors';
import type { FunctionsCore, RegisteredFunction } from './functionsCore';
import type { HostLog } from './hostLog';

/** What a trigger listener supplies for one invocation. */
export interface InvocationInput {
  inputData: NonNullable<RpcInvocationRequest['inputData']>;
  triggerMetadata?: RpcInvocationRequest['triggerMetadata'];
  /** W3C traceparent to continue (an HTTP request's header); a new trace otherwise. */
  traceParent?: string;
  traceState?: string;
  /** Shown in the "Executing" line, as the host does (`Reason='New queue message detected...'`). */
  reason: string;
  /** Set for runtime retries (timer `retry` option). */
  retryContext?: { retryCount: number; maxRetryCount: number };
}

/** Dependencies of {@link invokeFunction}. */
export interface InvokeFunctionOptions {
  core: FunctionsCore;
  log: HostLog;
  /** host.json functionTimeout; undefined = unbounded. */
  timeoutMs?: number;
}

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Invokes `fn` and returns the library's response (return value and output bindings), or throws the
 * handler's error (after postInvocation hooks), or a {@link LocalHostError} `timeout`.
 */
export async function invokeFunction(
  fn: RegisteredFunction,
  input: InvocationInput,
  options: InvokeFunctionOptions,
): Promise<RpcInvocationResponse> {
  const { core, log } = options;
  const model = core.programmingModel;
  if (!model)
    throw new LocalHostError('No programming model was set: the app never loaded @azure/functions', {
      code: 'appLoad',
    });
  const invocationId = randomUUID();
  const startedAtMs = performance.now();
  if (log.verbose)
    log.fn(fn.name, 'information', `Executing 'Functions.${fn.name}' (Reason='${input.reason}', Id=${invocationId})`);

  let invocationContext: unknown;
  const traceParent =
    input.traceParent && TRACEPARENT.test(input.traceParent) ? continueTrace(input.traceParent) : newTraceParent();
  const request: RpcInvocationRequest = {
    invocationId,
    functionId: fn.id,
    inputData: input.inputData,
    triggerMetadata: input.triggerMetadata ?? {},
    traceContext: { traceParent, traceState: input.traceParent ? (input.traceState ?? '') : '', attributes: {} },
    retryContext: input.retryContext,
  };
  const coreCtx: CoreInvocationContext = {
    invocationId,
    request,
    metadata: fn.metadata,
    state: undefined,
    log(level: RpcLogLevel, category: RpcLogCategory, message: string) {
      const entry = core.runLogHooks({ level, category, message, invocationContext });
      if (category === 'system' && (level === 'debug' || level === 'trace')) return;
      log.fn(fn.name, entry.level, entry.message);
    },
  };

  const run = async (): Promise<RpcInvocationResponse> => {
    const invocationModel = model.getInvocationModel(coreCtx);
    const hookData: Record<string, unknown> = {};
    const args = await invocationModel.getArguments();
    const context = args.context;
    invocationContext = context;
    let inputs = args.inputs;
    let callback = fn.callback;

    if (core.hasHooks('preInvocation')) {
      const pre = {
        get hookData() {
          return hookData;
        },
        get appHookData() {
          return core.appHookData;
        },
        get invocationContext() {
          return context;
        },
        functionCallback: callback,
        inputs,
      };
      coreCtx.state = 'preInvocationHooks';
      try {
        await core.executeHooks('preInvocation', pre);
      } finally {
        coreCtx.state = undefined;
      }
      inputs = pre.inputs;
      callback = pre.functionCallback;
    }

    const post = {
      get hookData() {
        return hookData;
      },
      get appHookData() {
        return core.appHookData;
      },
      get invocationContext() {
        return context;
      },
      inputs,
      result: null as unknown,
      error: null as unknown,
    };
    coreCtx.state = 'invocation';
    try {
      post.result = await invocationModel.invokeFunction(context, inputs, callback);
    } catch (error) {
      post.error = error;
    } finally {
      coreCtx.state = undefined;
    }
    if (core.hasHooks('postInvocation')) {
      coreCtx.state = 'postInvocationHooks';
      try {
        await core.executeHooks('postInvocation', post);
      } finally {
        coreCtx.state = undefined;
      }
    }
    // The hook's error is rethrown as the hook set it, as the Functions library does.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (post.error !== null && post.error !== undefined) throw post.error;
    return invocationModel.getResponse(context, post.result);
  };

  try {
    const response = await withTimeout(run(), options.timeoutMs, fn.name);
    if (log.verbose) {
      log.fn(
        fn.name,
        'information',
        `Executed 'Functions.${fn.name}' (Succeeded, Id=${invocationId}, Duration=${elapsed(startedAtMs)}ms)`,
      );
    }
    return response;
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    log.fn(
      fn.name,
      'error',
      `Executed 'Functions.${fn.name}' (Failed, Id=${invocationId}, Duration=${elapsed(startedAtMs)}ms): ${err.name}: ${err.message}`,
    );
    throw err;
  }
}

async function withTimeout<T>(work: Promise<T>, timeoutMs: number | undefined, functionName: string): Promise<T> {
  if (timeoutMs === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new LocalHostError(`Timeout value of ${timeoutMs}ms exceeded by function 'Functions.${functionName}'`, {
            code: 'timeout',
            subject: functionName,
            retryable: true,
          }),
        ),
      timeoutMs,
    );
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function elapsed(startedAtMs: number): number {
  return Math.round(performance.now() - startedAtMs);
}

function newTraceParent(): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

/** Same trace id, a new span id for the invocation (the host starts a child activity). */
function continueTrace(parent: string): string {
  const [version, traceId, , flags] = parent.split('-');
  return `${version}-${traceId}-${randomHex(8)}-${flags}`;
}

/**
 * Random bytes as hex from a pool refilled 4 KiB at a time: `randomBytes` per invocation is a
 * system call each time (≈ 25 µs per request in the profile); this is what `randomUUID` does too.
 */
const randomPool = Buffer.alloc(4096);
let randomPoolOffset = randomPool.length;

function randomHex(bytes: number): string {
  if (randomPoolOffset + bytes > randomPool.length) {
    randomFillSync(randomPool);
    randomPoolOffset = 0;
  }
  const hex = randomPool.toString('hex', randomPoolOffset, randomPoolOffset + bytes);
  randomPoolOffset += bytes;
  return hex;
}
