/**
 * Turns the bytes of an input file into text, line by line, and names the lines that are not UTF-8.
 *
 * - A UTF-8 byte order mark is dropped; a UTF-16 or UTF-32 one (or a file full of NUL bytes: UTF-16
 *   without a mark) makes the whole file unusable: the importer asks for UTF-8 instead of guessing.
 * - Each line is decoded on its own with a fatal decoder, so an invalid byte (a Windows-1252 `é` from
 *   Excel's "CSV (Comma delimited)") names its line; such a line is decoded with U+FFFD so that the
 *   lines after it keep their numbers, and the readers refuse the records that touch it.
 * - CRLF and LF both end a line; the text is returned with LF only.
 */
import { ImportFileError } from './errors';

/** The decoded text of a file. */
export interface DecodedFile {
  /** The text, lines joined with `\n` (no `\r\n`, no byte order mark). */
  text: string;
  /** 1-based numbers of the lines that are not valid UTF-8. */
  invalidLines: ReadonlySet<number>;
}

const BYTE_ORDER_MARKS: ReadonlyArray<{ bytes: readonly number[]; name: string }> = [
  { bytes: [0x00, 0x00, 0xfe, 0xff], name: 'UTF-32 (big-endian)' },
  { bytes: [0xff, 0xfe, 0x00, 0x00], name: 'UTF-32 (little-endian)' },
  { bytes: [0xfe, 0xff], name: 'UTF-16 (big-endian)' },
  { bytes: [0xff, 0xfe], name: 'UTF-16 (little-endian)' },
];

/** Share of NUL bytes in the first KiB above which a file without a mark is taken for UTF-16. */
const NUL_SHARE_OF_UTF16 = 0.1;

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((byte, i) => bytes[i] === byte);
}

/**
 * Decodes `bytes` (the content of `filePath`) as UTF-8 text; see the module comment.
 * Throws {@link ImportFileError} for a UTF-16/UTF-32 file.
 */
export function decodeInputFile(bytes: Uint8Array, filePath: string): DecodedFile {
  const mark = BYTE_ORDER_MARKS.find((m) => startsWith(bytes, m.bytes));
  if (mark) {
    throw new ImportFileError(
      filePath,
      `the file is ${mark.name} (byte order mark at line 1); save it as UTF-8 (Excel: "CSV UTF-8").`,
    );
  }
  const head = bytes.subarray(0, 1024);
  const nulBytes = head.reduce((count, byte) => count + (byte === 0 ? 1 : 0), 0);
  if (head.length > 0 && nulBytes / head.length > NUL_SHARE_OF_UTF16) {
    throw new ImportFileError(
      filePath,
      'line 1 is full of NUL bytes: the file looks like UTF-16 without a byte order mark; save it as UTF-8.',
    );
  }
  const body = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? bytes.subarray(3) : bytes;
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  const lines: string[] = [];
  const invalidLines = new Set<number>();
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(0x0a, start);
    if (end === -1) end = body.length;
    let lineEnd = end;
    if (lineEnd > start && body[lineEnd - 1] === 0x0d) lineEnd -= 1;
    const lineBytes = body.subarray(start, lineEnd);
    try {
      lines.push(strict.decode(lineBytes));
    } catch {
      invalidLines.add(lines.length + 1);
      lines.push(lenient.decode(lineBytes));
    }
    start = end + 1;
  }
  return { text: lines.join('\n'), invalidLines };
}
