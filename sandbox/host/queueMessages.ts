/**
 * Queue message conversions of the storage-queue trigger and output binding, pure:
 * `messageEncoding` (base64 / none), the trigger's input value and metadata, and the messages an
 * output binding value turns into.
 */
import { randomUUID } from 'node:crypto';
import type { RpcTypedData } from './coreTypes';
import type { MessageEncoding } from './hostConfig';

/** A received message as the listener sees it (a subset of `DequeuedMessageItem`). */
export interface ReceivedMessage {
  messageId: string;
  popReceipt: string;
  messageText: string;
  dequeueCount: number;
  insertedOn: Date;
  expiresOn: Date;
  nextVisibleOn: Date;
}

/** Strict base64 (whitespace ignored, padding required), as `Convert.FromBase64String` accepts it. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The message body as text: with `base64` the text must be valid base64 (else `ok: false`: the host
 * moves such a message to poison at once), decoded as UTF-8; with `none` the text as is.
 */
export function decodeMessageText(
  messageText: string,
  encoding: MessageEncoding,
): { ok: true; text: string } | { ok: false; reason: string } {
  if (encoding === 'none') return { ok: true, text: messageText };
  const compact = messageText.replace(/\s+/g, '');
  if (!BASE64.test(compact)) {
    return {
      ok: false,
      reason: 'The input is not a valid Base-64 string (host.json extensions.queues.messageEncoding is "base64")',
    };
  }
  return { ok: true, text: Buffer.from(compact, 'base64').toString('utf8') };
}

/** The text to put on the queue for `content` under `encoding`. */
export function encodeMessageText(content: string | Uint8Array, encoding: MessageEncoding): string {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  if (encoding === 'base64') return bytes.toString('base64');
  return typeof content === 'string' ? content : bytes.toString('utf8');
}

/** The trigger value: `{ json }` when the text parses as JSON (the library JSON-parses it), else `{ string }`. */
export function toTriggerData(text: string): RpcTypedData {
  const first = text.trimStart()[0];
  // Only try to parse what can be JSON; a plain word stays a string without a throw/catch per message.
  if (
    first !== undefined &&
    (first === '{' ||
      first === '[' ||
      first === '"' ||
      first === '-' ||
      (first >= '0' && first <= '9') ||
      first === 't' ||
      first === 'f' ||
      first === 'n')
  ) {
    try {
      JSON.parse(text);
      return { json: text };
    } catch {
      // not JSON
    }
  }
  return { string: text };
}

/**
 * Trigger metadata under the host's names (the library camelCases the keys): QueueTrigger, Id,
 * DequeueCount, InsertionTime, ExpirationTime, NextVisibleTime, PopReceipt, plus `sys`. Dates are
 * DateTimeOffset JSON strings [inferred: how the host serialises DateTimeOffset].
 */
export function queueTriggerMetadata(
  message: ReceivedMessage,
  text: string,
  functionName: string,
): Record<string, RpcTypedData> {
  return {
    QueueTrigger: { string: text },
    Id: { string: message.messageId },
    DequeueCount: { int: message.dequeueCount },
    InsertionTime: { json: JSON.stringify(dateTimeOffset(message.insertedOn)) },
    ExpirationTime: { json: JSON.stringify(dateTimeOffset(message.expiresOn)) },
    NextVisibleTime: { json: JSON.stringify(dateTimeOffset(message.nextVisibleOn)) },
    PopReceipt: { string: message.popReceipt },
    sys: {
      json: JSON.stringify({ MethodName: functionName, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }),
    },
  };
}

/**
 * The messages one output-binding value becomes: a string as is; an object as its JSON text; an array
 * one message per item (items that are not strings as JSON); bytes as bytes; numbers as their text.
 */
export function toOutputMessages(data: RpcTypedData | null | undefined): Array<string | Uint8Array> {
  if (!data) return [];
  if (typeof data.string === 'string') return [data.string];
  if (typeof data.json === 'string') {
    const value: unknown = JSON.parse(data.json);
    if (value === null) return [];
    if (Array.isArray(value)) {
      return value
        .filter((item) => item !== null && item !== undefined)
        .map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
    }
    return [data.json];
  }
  if (data.bytes) return [data.bytes];
  if (typeof data.int === 'number') return [String(data.int)];
  if (typeof data.double === 'number') return [String(data.double)];
  if (data.collectionString?.string) return [...data.collectionString.string];
  if (data.collectionBytes?.bytes) return [...data.collectionBytes.bytes];
  if (data.collectionDouble?.double) return data.collectionDouble.double.map(String);
  if (data.collectionSint64?.sint64) return data.collectionSint64.sint64.map(String);
  return [];
}

/** `2024-01-02T03:04:05+00:00`, as Json.NET writes a UTC DateTimeOffset. */
function dateTimeOffset(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}
