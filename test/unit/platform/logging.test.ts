import fc from 'fast-check';
import { createLogger, redact, type LogFields } from '../../../shared/platform/logging';

function capture() {
  const lines: Array<LogFields & { message: string }> = [];
  return { lines, logger: createLogger({ minLevel: 'debug', sink: (_level, record) => lines.push(record) }) };
}

describe('Function: redact', () => {
  it.each(['invalidRequest', 'http503', 'SecretNotFound', 'ECONNRESET', 'target_not_public', 'AADSTS70000', 'timeout'])(
    'shows the error code %s (operators need it; codes are not customer data)',
    (code) => {
      expect(redact({ code })).toEqual({ code });
      expect(redact({ error: { Code: code } })).toEqual({ error: { Code: code } });
    },
  );

  it('shows a numeric code', () => {
    expect(redact({ code: 503 })).toEqual({ code: 503 });
  });

  it('still redacts a code that is not an error code: an OAuth authorization code, free text, an object', () => {
    const authorizationCode = `0.AXYA${'x9_-'.repeat(60)}`;
    expect(redact({ code: authorizationCode })).toEqual({ code: '[redacted]' });
    expect(redact({ code: 'Fabrikam Ltd, Jane Doe' })).toEqual({ code: '[redacted]' });
    expect(redact({ code: { value: 'x' } })).toEqual({ code: '[redacted]' });
  });

  it('never shows a code value longer than 64 characters', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 65, maxLength: 400 }),
        (code) => (redact({ code }) as { code: unknown }).code === '[redacted]',
      ),
    );
  });

  it('still redacts secrets and contact data', () => {
    expect(redact({ refresh_token: 'r', email: 'a@b.c', customerProfile: { name: 'Fabrikam' }, status: 400 })).toEqual({
      refresh_token: '[redacted]',
      email: '[redacted]',
      customerProfile: { name: '[redacted]' },
      status: 400,
    });
  });
});

describe('Function: createLogger', () => {
  it('writes a failure line with its code readable', () => {
    const { logger, lines } = capture();
    logger.warn('Partner Center call failed', { status: 400, code: 'invalidRequest', retryable: false });
    expect(lines).toEqual([
      { message: 'Partner Center call failed', status: 400, code: 'invalidRequest', retryable: false },
    ]);
  });
});
