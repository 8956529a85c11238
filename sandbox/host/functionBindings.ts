/**
 * Reads the bindings each registered function declared into what the local host will run: its
 * trigger (HTTP route and methods, queue name and connection, timer schedule) and its queue output
 * bindings. `%NAME%` in a binding property resolves to app setting NAME, as in the real host.
 */
import { LocalHostError } from './errors';
import type { RegisteredFunction } from './functionsCore';

/** Trigger kinds the local host runs. */
export const TriggerKind = { http: 'http', queue: 'queue', timer: 'timer', unsupported: 'unsupported' } as const;
export type TriggerKind = (typeof TriggerKind)[keyof typeof TriggerKind];

/** A queue output binding. */
export interface QueueOutputBinding {
  bindingName: string;
  queueName: string;
  connection: string | undefined;
}

/** How the host runs one function. */
export interface FunctionPlan {
  name: string;
  fn: RegisteredFunction;
  kind: TriggerKind;
  /** The trigger binding's name (the invocation's input data name). */
  triggerName: string;
  /** The trigger's binding type as registered (`httpTrigger`, `queueTrigger`, `timerTrigger`...). */
  triggerType: string;
  http?: { route: string; methods: string[]; authLevel: string };
  queue?: { queueName: string; connection: string | undefined };
  timer?: { schedule: string; runOnStartup: boolean };
  queueOutputs: QueueOutputBinding[];
  /** Bindings the local host ignores (other extensions), described for a start-up warning. */
  ignored: string[];
}

const QUEUE_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;

/** Resolves the plan of `fn`; throws {@link LocalHostError} (`binding`) for an unusable binding. */
export function planFunction(
  fn: RegisteredFunction,
  env: Record<string, string | undefined> = process.env,
): FunctionPlan {
  const entries = Object.entries(fn.metadata.bindings);
  const trigger = entries.find(([, b]) => typeof b.type === 'string' && /trigger$/i.test(b.type));
  if (!trigger)
    throw new LocalHostError(`Function "${fn.name}" has no trigger binding`, { code: 'binding', subject: fn.name });
  const [triggerName, triggerBinding] = trigger;
  const triggerType = String(triggerBinding.type);
  const plan: FunctionPlan = {
    name: fn.name,
    fn,
    kind: TriggerKind.unsupported,
    triggerName,
    triggerType,
    queueOutputs: [],
    ignored: [],
  };
  const setting = (value: unknown, property: string): string =>
    resolveSettingExpression(String(value), env, `${fn.name}.${property}`);

  switch (triggerType.toLowerCase()) {
    case 'httptrigger': {
      const route =
        triggerBinding.route === undefined || triggerBinding.route === null
          ? fn.name
          : setting(triggerBinding.route, 'route');
      const methodsValue = Array.isArray(triggerBinding.methods) ? (triggerBinding.methods as unknown[]) : [];
      const methods = methodsValue.map((m) => String(m).toUpperCase());
      plan.kind = TriggerKind.http;
      plan.http = {
        route,
        methods,
        authLevel: typeof triggerBinding.authLevel === 'string' ? triggerBinding.authLevel : 'function',
      };
      break;
    }
    case 'queuetrigger': {
      plan.kind = TriggerKind.queue;
      plan.queue = {
        queueName: queueName(setting(triggerBinding.queueName ?? '', 'queueName'), fn.name),
        connection: connectionName(triggerBinding.connection),
      };
      break;
    }
    case 'timertrigger': {
      plan.kind = TriggerKind.timer;
      plan.timer = {
        schedule: setting(triggerBinding.schedule ?? '', 'schedule'),
        runOnStartup: triggerBinding.runOnStartup === true,
      };
      break;
    }
    default:
      plan.ignored.push(`trigger ${triggerType}`);
  }

  for (const [name, binding] of entries) {
    if (name === triggerName) continue;
    const type = String(binding.type ?? '').toLowerCase();
    if (binding.direction === 'out' && type === 'queue') {
      plan.queueOutputs.push({
        bindingName: name,
        queueName: queueName(setting(binding.queueName ?? '', `${name}.queueName`), fn.name),
        connection: connectionName(binding.connection),
      });
    } else if (binding.direction === 'out' && type === 'http' && plan.kind === TriggerKind.http) {
      // the HTTP response: handled by the HTTP listener
    } else {
      plan.ignored.push(`${binding.direction ?? 'in'} binding ${binding.type} "${name}"`);
    }
  }
  return plan;
}

/** Replaces `%NAME%` with app setting NAME; throws when the setting is missing. */
export function resolveSettingExpression(
  value: string,
  env: Record<string, string | undefined>,
  where: string,
): string {
  return value.replace(/%([^%]+)%/g, (_match, name: string) => {
    const resolved = env[name];
    if (resolved === undefined) {
      throw new LocalHostError(`${where}: app setting "${name}" referenced as %${name}% is not set`, {
        code: 'binding',
        subject: name,
      });
    }
    return resolved;
  });
}

function queueName(value: string, functionName: string): string {
  const name = value.toLowerCase();
  if (!QUEUE_NAME.test(name)) {
    throw new LocalHostError(
      `Function "${functionName}": "${value}" is not a valid queue name (3-63 of a-z, 0-9, single hyphens)`,
      {
        code: 'binding',
        subject: functionName,
      },
    );
  }
  return name;
}

function connectionName(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}
