import { ConcurrencyLimiter, deterministicRequestId, odataEquals, odataString } from '../../../shared/partner-center';

describe('OData literals', () => {
  it.each([
    { value: "O'Brien", literal: "'O''Brien'" },
    { value: "'; drop", literal: "'''; drop'" },
    { value: '', literal: "''" },
  ])('quotes $value', ({ value, literal }) => {
    expect(odataString(value)).toBe(literal);
  });

  it('escapes the value of an equality filter and refuses odd property paths', () => {
    expect(odataEquals('engagementId', "x' or 1 eq 1 or 'a")).toBe("engagementId eq 'x'' or 1 eq 1 or ''a'");
    expect(() => odataEquals("id eq 'x' or id", 'y')).toThrow(RangeError);
  });
});

describe('deterministicRequestId', () => {
  it('is a stable GUID per name and differs per step', () => {
    const a = deterministicRequestId('r1:partner');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicRequestId('r1:partner')).toBe(a);
    expect(deterministicRequestId('r1:microsoft')).not.toBe(a);
  });
});

describe('ConcurrencyLimiter', () => {
  it('never runs more than its limit at once and runs everything', async () => {
    const limiter = new ConcurrencyLimiter(3);
    let active = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limiter.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setImmediate(r));
          active--;
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(limiter.active).toBe(0);
  });

  it('frees the slot when a task throws', async () => {
    const limiter = new ConcurrencyLimiter(1);
    await expect(limiter.run(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(limiter.run(async () => 1)).resolves.toBe(1);
  });
});
