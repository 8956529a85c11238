/**
 * Problems name their line and column: the contract's JSON pointers mapped back through the mapping,
 * the same messages as the API, and the importer's own checks of the idempotency key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validateReferralRequest } from '../../../shared/referral';
import { columnsFor, compileMapping, SET_IN_MAPPING } from '../../../scripts/import/mapping';
import { readImportFile } from '../../../scripts/import/reader';
import { describeIssue } from '../../../scripts/import/rows';
import { validateRows } from '../../../scripts/import/validation';

const mapping = compileMapping(
  {
    columns: {
      'Opportunity ID': '/externalReferenceId',
      Topic: '/name',
      Account: '/customerProfile/name',
      Country: '/customerProfile/address/country',
      'Contact Email': '/customerProfile/team/0/email',
      'Est. Revenue': { field: '/details/dealValue', type: 'number' },
      Currency: '/details/currency',
      'Close Date': { field: '/details/closingDateTime', type: 'date' },
      Products: { field: '/details/requirements/products', type: 'list', itemKey: 'id' },
    },
    set: { '/dealType': 'PartnerLed', '/consent/consentToContact': true },
  },
  'test',
);

describe('columnsFor', () => {
  it.each([
    { pointer: '/details/dealValue', columns: ['Est. Revenue'] },
    { pointer: '/DETAILS/DEALVALUE', columns: ['Est. Revenue'] },
    { pointer: '/customerProfile/address', columns: ['Country'] },
    { pointer: '/customerProfile', columns: ['Account', 'Country', 'Contact Email'] },
    { pointer: '/details/requirements/products/1/id', columns: ['Products'] },
    { pointer: '/dealType', columns: [SET_IN_MAPPING] },
    { pointer: '/consent', columns: [SET_IN_MAPPING] },
    { pointer: '/qualification', columns: [] },
  ])('names $columns for $pointer', ({ pointer, columns }) => {
    expect(columnsFor(mapping, pointer)).toEqual(columns);
  });
});

const dir = mkdtempSync(path.join(tmpdir(), 'import-validation-'));
const HEADER = 'Opportunity ID,Topic,Account,Country,Contact Email,Est. Revenue,Currency,Close Date,Products';
function csvSource(lines: string[]) {
  const filePath = path.join(dir, `rows-${lines.length}-${Date.now()}.csv`);
  writeFileSync(filePath, [HEADER, ...lines].join('\n'));
  return readImportFile(filePath, { mapping });
}

describe('validateRows', () => {
  it('names the line and the column of each contract problem, with the API message', () => {
    const source = csvSource([
      'opp-1,Deal one,Contoso,US,a@example.com,1000,USD,2026-06-30,',
      'opp-2,Deal two,Contoso,US,not-an-email,1000,USX,2026-06-30,',
    ]);
    const pass = validateRows(source);
    expect(pass.valid.map((r) => [r.line, r.key])).toEqual([[2, 'opp-1']]);
    expect(pass.invalid).toHaveLength(1);
    const [row] = pass.invalid;
    expect(row.line).toBe(3);
    const api = validateReferralRequest(source.rows[1].body);
    expect(api.ok).toBe(false);
    const apiMessages = !api.ok ? api.problem.errors?.map((e) => e.message) : [];
    expect(row.issues.map((i) => i.message)).toEqual(apiMessages);
    expect(row.issues.map(describeIssue)).toEqual([
      'column "Contact Email" (/customerProfile/team/0/email): Must be an e-mail address.',
      expect.stringMatching(/^column "Currency" \(\/details\/currency\): Must be a valid ISO 4217 currency code/),
    ]);
  });

  it('names the column a required field would come from, and "set in the mapping" for constants', () => {
    const pass = validateRows(csvSource(['opp-3,Deal three,,US,,1000,USD,2026-06-30,']));
    expect(pass.invalid[0].issues.map(describeIssue)).toEqual(['column "Account" (/customerProfile/name): Required.']);
  });

  it('refuses a row without an idempotency key and names the column', () => {
    const pass = validateRows(csvSource([',Deal four,Contoso,US,,1000,USD,2026-06-30,']));
    expect(pass.invalid[0].issues).toEqual([
      expect.objectContaining({ code: 'missing_key', columns: ['Opportunity ID'], pointer: '/externalReferenceId' }),
    ]);
  });

  it('refuses the second row with the same key, naming the first line', () => {
    const pass = validateRows(
      csvSource([
        'opp-5,Deal five,Contoso,US,,1000,USD,2026-06-30,',
        'opp-5,Deal five again,Contoso,US,,1000,USD,2026-06-30,',
      ]),
    );
    expect(pass.valid.map((r) => r.line)).toEqual([2]);
    expect(pass.invalid[0]).toMatchObject({
      line: 3,
      issues: [{ code: 'duplicate_key', message: expect.stringMatching(/line 2/) }],
    });
  });

  it('takes the key from --key-column instead', () => {
    const pass = validateRows(csvSource(['opp-6,Deal six,Contoso,US,,1000,USD,2026-06-30,']), { keyColumn: 'Topic' });
    expect(pass.invalid[0].issues[0]).toMatchObject({ code: 'invalid_key', columns: ['Topic'] }); // a space is not visible ASCII
  });

  it('refuses an unknown --key-column as a usage error', () => {
    expect(() => validateRows(csvSource(['opp-7,Deal,Contoso,US,,1,USD,2026-06-30,']), { keyColumn: 'Nope' })).toThrow(
      /--key-column "Nope"/,
    );
  });

  it('names JSONL problems by pointer', () => {
    const filePath = path.join(dir, 'rows.jsonl');
    writeFileSync(filePath, `${JSON.stringify({ externalReferenceId: 'j1', name: 'x' })}\n`);
    const pass = validateRows(readImportFile(filePath));
    expect(pass.invalid[0].issues.map(describeIssue)).toContain('/customerProfile: Required.');
  });
});
