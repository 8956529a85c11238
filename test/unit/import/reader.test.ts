/**
 * Reading input files: JSONL and CSV, broken lines named by number (bad JSON, bad CSV quoting, invalid
 * UTF-8), byte order marks, CRLF, and the whole-file errors (UTF-16, a mapping that does not fit).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImportFileError } from '../../../scripts/import/errors';
import { compileMapping } from '../../../scripts/import/mapping';
import { readImportFile } from '../../../scripts/import/reader';

const dir = mkdtempSync(path.join(tmpdir(), 'import-reader-'));
let counter = 0;
function file(extension: string, content: string | Buffer): string {
  const filePath = path.join(dir, `input-${(counter += 1)}.${extension}`);
  writeFileSync(filePath, content);
  return filePath;
}

const mapping = compileMapping(
  { columns: { Id: '/externalReferenceId', Name: '/name', Notes: '/details/notes' } },
  'test',
);
const csv = (content: string | Buffer) => readImportFile(file('csv', content), { mapping });

describe('JSONL', () => {
  it('reads one body per line, skips blank lines and names a bad JSON line while the others still count', () => {
    const source = readImportFile(file('jsonl', '{"name":"a"}\n\n{"name": oops}\n{"name":"c"}\n'));
    expect(source.rows.map((r) => [r.line, r.body.name])).toEqual([
      [1, 'a'],
      [4, 'c'],
    ]);
    expect(source.unreadable).toEqual([
      { line: 3, code: 'invalid_json', message: expect.stringMatching(/not valid JSON/) },
    ]);
  });

  it('never repeats the content of a bad line in its message', () => {
    const source = readImportFile(file('jsonl', '{"email": "secret@example.com", oops}\n'));
    expect(source.unreadable[0].message).not.toContain('secret');
  });

  it('refuses a line that is JSON but not an object', () => {
    const source = readImportFile(file('jsonl', '[1,2]\n"text"\n{"name":"ok"}\n'));
    expect(source.unreadable.map((u) => [u.line, u.code])).toEqual([
      [1, 'not_an_object'],
      [2, 'not_an_object'],
    ]);
    expect(source.rows).toHaveLength(1);
  });

  it('names a line that is not UTF-8 and keeps the numbers of the lines after it', () => {
    const bytes = Buffer.concat([
      Buffer.from('{"name":"a"}\n{"name":"Caf'),
      Buffer.from([0xe9]), // Windows-1252 é
      Buffer.from('"}\r\n{"name":"c"}\r\n'),
    ]);
    const source = readImportFile(file('jsonl', bytes));
    expect(source.unreadable).toEqual([
      { line: 2, code: 'invalid_utf8', message: expect.stringMatching(/not valid UTF-8/) },
    ]);
    expect(source.rows.map((r) => r.line)).toEqual([1, 3]);
  });

  it('drops a UTF-8 byte order mark', () => {
    const source = readImportFile(
      file('jsonl', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"a"}\n')])),
    );
    expect(source.rows).toHaveLength(1);
  });

  it.each([
    { bom: [0xff, 0xfe], name: 'UTF-16 (little-endian)' },
    { bom: [0xfe, 0xff], name: 'UTF-16 (big-endian)' },
  ])('refuses a $name file as a whole, naming line 1', ({ bom, name }) => {
    const bytes = Buffer.concat([Buffer.from(bom), Buffer.from('{"name":"a"}\n', 'utf16le')]);
    expect(() => readImportFile(file('jsonl', bytes))).toThrow(ImportFileError);
    expect(() => readImportFile(file('jsonl', bytes))).toThrow(
      new RegExp(`${name.replace(/[()]/g, '\\$&')}.*line 1.*UTF-8`),
    );
  });

  it('refuses UTF-16 without a byte order mark', () => {
    expect(() => readImportFile(file('jsonl', Buffer.from('{"name":"a"}\n{"name":"b"}\n', 'utf16le')))).toThrow(
      /UTF-16/,
    );
  });
});

describe('CSV', () => {
  it('maps the cells of each record and numbers records by the line where they start', () => {
    const source = csv('Id,Name,Notes\r\nk1,Alpha,"two\r\nlines"\r\n\r\nk2,Beta,\r\n');
    expect(source.unreadable).toEqual([]);
    expect(source.rows.map((r) => [r.line, r.body])).toEqual([
      [2, { externalReferenceId: 'k1', name: 'Alpha', details: { notes: 'two\nlines' } }],
      [5, { externalReferenceId: 'k2', name: 'Beta' }],
    ]);
  });

  it('names a record with a stray quote and reads the records after it', () => {
    const source = csv('Id,Name,Notes\nk1,Al"pha,x\nk2,Beta,y\n');
    expect(source.unreadable).toEqual([{ line: 2, code: 'bad_quoting', message: expect.stringMatching(/line 2/) }]);
    expect(source.rows.map((r) => r.line)).toEqual([3]);
  });

  it('names a quoted field that goes on after its closing quote', () => {
    const source = csv('Id,Name,Notes\nk1,"Alpha"x,y\n');
    expect(source.unreadable[0]).toMatchObject({ line: 2, code: 'bad_quoting' });
  });

  it('names a quote that is never closed, with the lines it swallowed', () => {
    const source = csv('Id,Name,Notes\nk1,Alpha,x\nk2,"Beta,y\nk3,Gamma,z\n');
    expect(source.rows.map((r) => r.line)).toEqual([2]);
    expect(source.unreadable).toEqual([
      { line: 3, code: 'bad_quoting', message: expect.stringMatching(/never closed.*lines 3–4/) },
    ]);
  });

  it('names a record with the wrong number of fields', () => {
    const source = csv('Id,Name,Notes\nk1,Alpha\nk2,Beta,y\n');
    expect(source.unreadable).toEqual([
      { line: 2, code: 'column_count', message: expect.stringMatching(/3 fields.*but 2/) },
    ]);
    expect(source.rows.map((r) => r.line)).toEqual([3]);
  });

  it('names the line of a record that is not UTF-8, also inside a multi-line field', () => {
    const bytes = Buffer.concat([
      Buffer.from('Id,Name,Notes\nk1,Alpha,"first\nsecond '),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"\nk2,Beta,y\n'),
    ]);
    const source = csv(bytes);
    expect(source.unreadable).toEqual([
      { line: 2, code: 'invalid_utf8', message: expect.stringMatching(/Line 3 is not valid UTF-8/) },
    ]);
    expect(source.rows.map((r) => r.line)).toEqual([4]);
  });

  it("skips Excel's blank trailing records and drops the byte order mark of Excel's CSV UTF-8", () => {
    const source = csv(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Id,Name,Notes\r\nk1,Alpha,\r\n,,\r\n')]),
    );
    expect(source.rows).toHaveLength(1);
    expect(source.unreadable).toEqual([]);
  });

  it.each([
    {
      case: 'a mapped column missing from the header',
      content: 'Id,Title\nk1,Alpha\n',
      error: /"Name", "Notes", not in the header/,
    },
    { case: 'a column twice in the header', content: 'Id,Name,Name,Notes\n', error: /"Name" twice/ },
    { case: 'an empty file', content: '', error: /empty/ },
    { case: 'an unreadable header', content: 'Id,"Name\n', error: /header/ },
  ])('refuses $case as a file error', ({ content, error }) => {
    expect(() => csv(content)).toThrow(ImportFileError);
    expect(() => csv(content)).toThrow(error);
  });

  it('needs a mapping', () => {
    expect(() => readImportFile(file('csv', 'Id\n'))).toThrow(/--mapping/);
  });
});
