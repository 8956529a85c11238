/**
 * The local host's stand-in for the worker's built-in `@azure/functions-core` module.
 *
 * The Functions Node.js worker wraps `Module.prototype.require` so that
 * `require('@azure/functions-core')` returns its own API object; `@azure/functions` then calls
 * `setProgrammingModel(new ProgrammingModel())` and `registerFunction(metadata, handler)` for every
 * `app.http/storageQueue/timer(...)` the app's entry points run. This class is that API: it records the
 * registrations and hooks so the host can run the app's own functions through the library's own
 * invocation model (azure-functions-nodejs-worker `src/setupCoreModule.ts`, `coreApi/registerFunction.ts`).
 */
import Module from 'node:module';
import { LOCAL_HOST_VERSION, LOCAL_WORKER_VERSION } from './constants';
import type {
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  HookContext,
  ProgrammingModel,
  RpcFunctionMetadata,
  RpcLogCategory,
  RpcLogLevel,
} from './coreTypes';
import { LocalHostError } from './errors';

/** A function the app registered. */
export interface RegisteredFunction {
  /** functionId (= name unless the app set one). */
  id: string;
  name: string;
  metadata: RpcFunctionMetadata & { name: string; bindings: NonNullable<RpcFunctionMetadata['bindings']> };
  callback: FunctionCallback;
  /** Entry point file that registered it. */
  entryPoint: string | undefined;
}

/** Hook names the worker knows; others throw a RangeError like the worker does. */
export const HookName = {
  appStart: 'appStart',
  appTerminate: 'appTerminate',
  preInvocation: 'preInvocation',
  postInvocation: 'postInvocation',
  log: 'log',
} as const;
export type HookName = (typeof HookName)[keyof typeof HookName];

/** Receives every log line: system lines from the library and user lines from context.log. */
export type CoreLogSink = (entry: {
  level: RpcLogLevel;
  category: RpcLogCategory;
  message: string;
  functionName?: string;
  invocationId?: string;
}) => void;

/** A disposable registration, as the worker's `Disposable`. */
export class Disposable {
  #callOnDispose: (() => unknown) | undefined;

  /** Combines several disposables into one. */
  static from(...disposables: { dispose: () => unknown }[]): Disposable {
    return new Disposable(() => {
      for (const disposable of disposables) disposable.dispose();
    });
  }

  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }

  /** Runs the dispose callback once. */
  dispose(): unknown {
    const call = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return call?.();
  }
}

/** Options of {@link FunctionsCore}. */
export interface FunctionsCoreOptions {
  log?: CoreLogSink;
}

/** The `@azure/functions-core` API plus the state the host reads back (functions, hooks, model). */
export class FunctionsCore {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly appHookData: Record<string, unknown> = {};
  /** hookData shared by appStart and appTerminate hooks only (the worker's appLevelOnlyHookData). */
  readonly appLevelOnlyHookData: Record<string, unknown> = {};
  programmingModel: ProgrammingModel | undefined;
  /** Set while an entry point file is being loaded (to attribute registrations). */
  currentEntryPoint: string | undefined;
  readonly #hooks = new Map<HookName, HookCallback[]>();
  #startupFinished = false;
  readonly #log: CoreLogSink;
  #installed = false;

  /** The object `require('@azure/functions-core')` returns. */
  readonly module: Readonly<Record<string, unknown>>;

  constructor(options: FunctionsCoreOptions = {}) {
    this.#log = options.log ?? (() => undefined);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const core = this;
    this.module = Object.freeze({
      version: LOCAL_WORKER_VERSION,
      hostVersion: LOCAL_HOST_VERSION,
      registerHook: (hookName: string, callback: HookCallback) => core.registerHook(hookName, callback),
      setProgrammingModel: (model: ProgrammingModel) => {
        core.programmingModel = model;
      },
      getProgrammingModel: () => core.programmingModel,
      registerFunction: (metadata: FunctionMetadata, callback: FunctionCallback) =>
        core.registerFunction(metadata, callback),
      log: (level: RpcLogLevel, category: RpcLogCategory, message: string) => core.#log({ level, category, message }),
      Disposable,
    });
  }

  /**
   * Makes `require('@azure/functions-core')` return {@link module} in this process, as the worker does
   * (a Proxy around `Module.prototype.require`). Once per process.
   */
  install(): void {
    if (this.#installed) return;
    const proto = (Module as unknown as { prototype: { require: (...args: unknown[]) => unknown } }).prototype;
    const coreModule = this.module;
    proto.require = new Proxy(proto.require, {
      apply(target, thisArg, args: unknown[]) {
        if (args[0] === '@azure/functions-core') return coreModule;
        return Reflect.apply(target, thisArg, args);
      },
    });
    this.#installed = true;
  }

  /** Records a function; refused after start-up and for a duplicate id, like the worker. */
  registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
    if (this.#startupFinished) {
      throw new LocalHostError('A function can only be registered during app startup.', {
        code: 'appLoad',
        subject: metadata?.name,
      });
    }
    if (!metadata || typeof metadata.name !== 'string' || !metadata.bindings || typeof callback !== 'function') {
      throw new LocalHostError('registerFunction needs metadata { name, bindings } and a callback', {
        code: 'appLoad',
      });
    }
    const id = metadata.functionId ?? metadata.name;
    if (this.functions.has(id)) {
      throw new LocalHostError(`A function with id "${id}" has already been registered.`, {
        code: 'appLoad',
        subject: id,
      });
    }
    this.functions.set(id, {
      id,
      name: metadata.name,
      metadata: {
        name: metadata.name,
        functionId: id,
        bindings: metadata.bindings,
        scriptFile: 'n/a',
        rawBindings: Object.entries(metadata.bindings).map(([name, binding]) => JSON.stringify({ ...binding, name })),
      },
      callback,
      entryPoint: this.currentEntryPoint,
    });
    return new Disposable(() => {
      if (this.#startupFinished) {
        throw new LocalHostError('A function can only be disposed during app startup.', {
          code: 'appLoad',
          subject: id,
        });
      }
      this.functions.delete(id);
    });
  }

  /** Adds a hook; hooks run in registration order. */
  registerHook(hookName: string, callback: HookCallback): Disposable {
    if (!Object.values(HookName).includes(hookName as HookName)) {
      const error = new RangeError(`Unrecognized hook "${hookName}"`);
      (error as RangeError & { isAzureFunctionsSystemError?: boolean }).isAzureFunctionsSystemError = true;
      throw error;
    }
    if (typeof callback !== 'function') throw new TypeError(`The ${hookName} hook must be a function`);
    const list = this.#hooks.get(hookName as HookName) ?? [];
    list.push(callback);
    this.#hooks.set(hookName as HookName, list);
    return new Disposable(() => {
      const current = this.#hooks.get(hookName as HookName) ?? [];
      const index = current.indexOf(callback);
      if (index >= 0) current.splice(index, 1);
    });
  }

  /** True when at least one hook of that name is registered (skips building contexts otherwise). */
  hasHooks(hookName: HookName): boolean {
    return (this.#hooks.get(hookName)?.length ?? 0) > 0;
  }

  /** Runs the hooks of `hookName` in order, awaiting each (a throwing hook fails the step, as in the worker). */
  async executeHooks(hookName: HookName, context: HookContext): Promise<void> {
    const callbacks = this.#hooks.get(hookName);
    if (!callbacks || callbacks.length === 0) return;
    for (const callback of [...callbacks]) await callback(context);
  }

  /**
   * Runs `log` hooks synchronously; they may change a user line's message and level. Hook failures are
   * ignored so a hook cannot suppress logs (the worker does the same).
   */
  runLogHooks(entry: { level: RpcLogLevel; category: RpcLogCategory; message: string; invocationContext?: unknown }): {
    level: RpcLogLevel;
    message: string;
  } {
    const callbacks = this.#hooks.get(HookName.log);
    if (!callbacks || callbacks.length === 0) return entry;
    const context = { hookData: {}, appHookData: this.appHookData, ...entry };
    try {
      for (const callback of callbacks) void callback(context);
    } catch {
      // a failing log hook must not hide the line
    }
    return entry.category === 'user' ? { level: context.level, message: context.message } : entry;
  }

  /** Ends start-up: later registrations throw. */
  finishStartup(): void {
    this.#startupFinished = true;
  }
}
