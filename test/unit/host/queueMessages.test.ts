import fc from 'fast-check';
import {
  decodeMessageText,
  encodeMessageText,
  queueTriggerMetadata,
  toOutputMessages,
  toTriggerData,
} from '../../../sandbox/host/queueMessages';

describe('queue message encoding', () => {
  it('round-trips any text through base64 encoding', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        expect(decodeMessageText(encodeMessageText(text, 'base64'), 'base64')).toEqual({ ok: true, text });
      }),
    );
  });

  it('passes text through unchanged with encoding none', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(encodeMessageText(text, 'none')).toBe(text);
        expect(decodeMessageText(text, 'none')).toEqual({ ok: true, text });
      }),
    );
  });

  it.each([['{"a":1}'], ['not base64!'], ['abc'], ['ab=c']])('refuses %j as base64 (the host poisons it)', (text) => {
    expect(decodeMessageText(text, 'base64').ok).toBe(false);
  });

  it('ignores whitespace inside base64 text, as .NET does', () => {
    expect(decodeMessageText('eyJh\nIjox fQ==', 'base64')).toEqual({ ok: true, text: '{"a":1}' });
  });

  it('encodes bytes as base64, or as UTF-8 text with encoding none', () => {
    expect(encodeMessageText(Buffer.from('hé'), 'base64')).toBe(Buffer.from('hé').toString('base64'));
    expect(encodeMessageText(new Uint8Array(Buffer.from('hé')), 'none')).toBe('hé');
  });
});

describe('queue trigger input', () => {
  it.each([
    ['{"a":1}', { json: '{"a":1}' }],
    ['[1,2]', { json: '[1,2]' }],
    ['42', { json: '42' }],
    ['"quoted"', { json: '"quoted"' }],
    ['true', { json: 'true' }],
    ['plain text', { string: 'plain text' }],
    ['{"broken":', { string: '{"broken":' }],
    ['', { string: '' }],
  ])('passes %j as %j', (text, data) => {
    expect(toTriggerData(text)).toEqual(data);
  });

  it('carries the host metadata names, dates as DateTimeOffset JSON', () => {
    const metadata = queueTriggerMetadata(
      {
        messageId: 'm1',
        popReceipt: 'p1',
        messageText: 'x',
        dequeueCount: 3,
        insertedOn: new Date('2026-01-02T03:04:05Z'),
        expiresOn: new Date('2026-01-09T03:04:05Z'),
        nextVisibleOn: new Date('2026-01-02T03:14:05Z'),
      },
      'x',
      'fn',
    );
    expect(metadata).toMatchObject({
      QueueTrigger: { string: 'x' },
      Id: { string: 'm1' },
      PopReceipt: { string: 'p1' },
      DequeueCount: { int: 3 },
      InsertionTime: { json: '"2026-01-02T03:04:05+00:00"' },
      ExpirationTime: { json: '"2026-01-09T03:04:05+00:00"' },
      NextVisibleTime: { json: '"2026-01-02T03:14:05+00:00"' },
    });
    expect(JSON.parse(metadata.sys.json!)).toMatchObject({ MethodName: 'fn' });
  });
});

describe('queue output values', () => {
  it.each([
    ['a string', { string: 'hello' }, ['hello']],
    ['an object (JSON text)', { json: '{"a":1}' }, ['{"a":1}']],
    ['an array: one message per item', { json: '[{"a":1},"two",3,null]' }, ['{"a":1}', 'two', '3']],
    ['a number', { int: 5 }, ['5']],
    ['a double', { double: 2.5 }, ['2.5']],
    ['null', { json: 'null' }, []],
    ['nothing', undefined, []],
  ])('sends %s', (_name, data, messages) => {
    expect(toOutputMessages(data)).toEqual(messages);
  });

  it('keeps bytes as bytes', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    expect(toOutputMessages({ bytes })).toEqual([bytes]);
  });
});
