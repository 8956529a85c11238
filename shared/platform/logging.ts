/**
 * Structured logging with redaction.
 *
 * Every log line is one JSON object: `{ level, message, ...fields }`. Field values whose key names a
 * secret, a token or customer contact data are replaced by `[redacted]` at any depth (a `code` only
 * when it does not read as an error code), so a caller can log a whole object without leaking. The sink is injected: the Functions edge passes one built on
 * `context.log`, tests pass an array.
 */

/** Log levels, lowest first. */
export const LogLevel = { debug: 'debug', info: 'info', warn: 'warn', error: 'error' } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** Fields attached to a log line (trackingId, correlation ids, counts...). */
export type LogFields = Record<string, unknown>;

/** Receives one finished, redacted log record. */
export type LogSink = (level: LogLevel, record: LogFields & { message: string }) => void;

/** The logger every module receives through its options bag. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (for example `{ trackingId }`). */
  child(fields: LogFields): Logger;
}

/**
 * Key names whose values never reach a log: secrets, tokens, credentials and customer contact data.
 * Matched case-insensitively against the whole key.
 */
const SENSITIVE_KEY =
  /(token|secret|password|authorization|apikey|api_key|x-functions-key|cookie|assertion|code_verifier|device_code|email|phone|firstname|lastname|^name$|contactname|addressline|postalcode|linkedin)/i;

/**
 * `code` is an error code (Partner Center's `invalidRequest`, `SecretNotFound`, `ECONNRESET`,
 * `target_not_public`) that operators need, or an OAuth authorization code, which is a credential. A
 * value that reads as an identifier of at most 64 characters is shown; anything else (authorization
 * codes are hundreds of characters long) is redacted.
 */
const CODE_KEY = /^code$/i;
const ERROR_CODE_VALUE = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;

function redactField(key: string, value: unknown, depth: number): unknown {
  if (SENSITIVE_KEY.test(key)) return '[redacted]';
  if (CODE_KEY.test(key)) {
    if (typeof value === 'number') return value;
    return typeof value === 'string' && ERROR_CODE_VALUE.test(value) ? value : '[redacted]';
  }
  return redact(value, depth + 1);
}

/** Strings that look like bearer tokens or JWTs are masked wherever they appear. */
const TOKEN_LIKE = /(Bearer\s+)[A-Za-z0-9\-._~+/]+=*|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

/** Returns a deep copy of `value` with sensitive fields replaced by `[redacted]`. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[truncated]';
  if (typeof value === 'string') return value.replace(TOKEN_LIKE, (_m, bearer?: string) => `${bearer ?? ''}[redacted]`);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message, depth + 1) };
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = redactField(key, inner, depth);
    }
    return out;
  }
  return value;
}

/** Writes JSON lines to stdout/stderr: the default sink outside the Functions host. */
export const consoleSink: LogSink = (level, record) => {
  const line = JSON.stringify({ level, time: new Date().toISOString(), ...record });
  if (level === 'error' || level === 'warn') console.error(line);
  else console.log(line);
};

/** A sink that drops everything (benchmarks, quiet tests). */
export const silentSink: LogSink = () => undefined;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  sink?: LogSink;
  /** Lines below this level are dropped. @default 'info' (env LOG_LEVEL) */
  minLevel?: LogLevel;
  fields?: LogFields;
}

const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Builds a redacting structured logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? consoleSink;
  const envLevel = process.env.LOG_LEVEL as LogLevel | undefined;
  const minLevel = options.minLevel ?? (envLevel && envLevel in ORDER ? envLevel : 'info');
  const base = options.fields ?? {};
  const write = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (ORDER[level] < ORDER[minLevel]) return;
    const merged = redact({ ...base, ...(fields ?? {}) }) as LogFields;
    sink(level, { message: redact(message) as string, ...merged });
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ sink, minLevel, fields: { ...base, ...fields } }),
  };
}
