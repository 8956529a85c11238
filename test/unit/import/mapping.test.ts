/**
 * Mapping files: checking them, building bodies from CSV cells (conversions, picklist labels, `set`,
 * defaults) and the two shipped examples with their sample exports.
 */
import path from 'node:path';
import fc from 'fast-check';
import { convertCell } from '../../../scripts/import/conversions';
import { buildBody, compileMapping, loadMapping } from '../../../scripts/import/mapping';
import { readImportFile } from '../../../scripts/import/reader';
import { validateRows } from '../../../scripts/import/validation';

const cells = (entries: Record<string, string>) => new Map(Object.entries(entries));

describe('compileMapping', () => {
  it.each([
    { case: 'a field that is not a pointer', columns: { A: 'name' } },
    { case: 'a pointer through __proto__', columns: { A: '/__proto__/polluted' } },
    { case: 'an unknown type', columns: { A: { field: '/name', type: 'money' } } },
    { case: 'an unknown option', columns: { A: { field: '/name', typo: true } } },
  ])('refuses $case', ({ columns }) => {
    expect(() => compileMapping({ columns }, 'm.json')).toThrow(/m\.json: not a valid mapping/);
  });
});

describe('buildBody', () => {
  const mapping = compileMapping(
    {
      columns: {
        Id: '/externalReferenceId',
        Amount: { field: '/details/dealValue', type: 'number' },
        Closes: { field: '/details/closingDateTime', type: 'date', format: 'M/D/YYYY' },
        Email: '/customerProfile/team/0/email',
        Products: { field: '/details/requirements/products', type: 'list', itemKey: 'id' },
        Stage: [
          { field: '/status', values: { 'Closed Won': 'Closed', '*': null } },
          { field: '/substatus', values: { 'closed won': 'Won', '*': null } },
        ],
        Region: { field: '/customerProfile/address/country', default: 'US' },
      },
      set: { '/dealType': 'PartnerLed', '/consent/consentToContact': true },
    },
    'test',
  );

  it('converts, translates labels, fills defaults and applies set', () => {
    const { body, issues } = buildBody(
      mapping,
      cells({
        Id: ' k1 ',
        Amount: '$1,250.50',
        Closes: '6/30/2026',
        Email: 'a@example.com',
        Products: 'Azure; Dynamics365',
        Stage: 'CLOSED WON',
        Region: '',
      }),
    );
    expect(issues).toEqual([]);
    expect(body).toEqual({
      dealType: 'PartnerLed',
      consent: { consentToContact: true },
      externalReferenceId: 'k1',
      details: {
        dealValue: 1250.5,
        closingDateTime: '2026-06-30T00:00:00Z',
        requirements: { products: [{ id: 'Azure' }, { id: 'Dynamics365' }] },
      },
      customerProfile: { team: [{ email: 'a@example.com' }], address: { country: 'US' } },
      status: 'Closed',
      substatus: 'Won',
    });
  });

  it('leaves out empty cells and labels mapped to null ("*" for any other label)', () => {
    const { body } = buildBody(mapping, cells({ Id: 'k2', Amount: '', Stage: 'Prospecting' }));
    expect(body).not.toHaveProperty('status');
    expect(body).not.toHaveProperty('details');
  });

  it('names the column of a cell it cannot convert, without quoting the cell', () => {
    const { issues } = buildBody(mapping, cells({ Id: 'k3', Amount: 'call me', Closes: '31/12/2026' }));
    expect(issues).toEqual([
      { pointer: '/details/dealValue', columns: ['Amount'], code: 'invalid_format', message: 'Not a number.' },
      {
        pointer: '/details/closingDateTime',
        columns: ['Closes'],
        code: 'invalid_format',
        message: 'Not a date in the layout M/D/YYYY.',
      },
    ]);
  });
});

describe('convertCell', () => {
  it.each([
    { cell: 'USD 1,250,000.00', value: 1_250_000 },
    { cell: '1.250.000,75 €', decimalSeparator: ',' as const, value: 1_250_000.75 },
    { cell: '(300)', value: -300 },
    { cell: '-12.5', value: -12.5 },
    { cell: '1e5', value: undefined },
    { cell: '12 months', value: undefined },
  ])('reads the number $cell', ({ cell, decimalSeparator, value }) => {
    const result = convertCell(cell, { type: 'number', decimalSeparator });
    expect(result.ok ? result.value : undefined).toBe(value);
  });

  it.each([
    { cell: '6/30/2026 5:07 PM', format: 'M/D/YYYY h:mm A', value: '2026-06-30T17:07:00Z' },
    { cell: '30.06.2026 17:07', format: 'DD.MM.YYYY HH:mm', value: '2026-06-30T17:07:00Z' },
    { cell: '2/30/2026', format: 'M/D/YYYY', value: undefined },
  ])('reads the date-time $cell as $format', ({ cell, format, value }) => {
    const result = convertCell(cell, { type: 'dateTime', format });
    expect(result.ok ? result.value : undefined).toBe(value);
  });

  it('reads back any amount written with thousands separators and a currency symbol', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 12 }), (cents) => {
        const text = `$${(cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`;
        const result = convertCell(text, { type: 'number' });
        return result.ok && Math.round((result.value as number) * 100) === cents;
      }),
    );
  });

  it('reads back any date written as M/D/YYYY', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1990-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }),
        (date) => {
          const text = `${date.getUTCMonth() + 1}/${date.getUTCDate()}/${date.getUTCFullYear()}`;
          const result = convertCell(text, { type: 'date', format: 'M/D/YYYY' });
          return result.ok && result.value === `${date.toISOString().slice(0, 10)}T00:00:00Z`;
        },
      ),
    );
  });
});

describe('the shipped examples', () => {
  const examples = path.resolve(__dirname, '../../../examples/import');
  it.each(['dynamics365-opportunities', 'salesforce-opportunities'])(
    '%s: the sample export is valid through its mapping',
    (name) => {
      const mapping = loadMapping(path.join(examples, `${name}.mapping.json`));
      const source = readImportFile(path.join(examples, `${name}.sample.csv`), { mapping });
      expect(source.unreadable).toEqual([]);
      const pass = validateRows(source);
      expect(pass.invalid).toEqual([]);
      expect(pass.valid.length).toBeGreaterThanOrEqual(4);
      expect(new Set(pass.valid.map((r) => r.key)).size).toBe(pass.valid.length);
    },
  );
});
