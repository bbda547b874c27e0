/**
 * The little CSV handling the banks' statement layouts need: one separator per bank, no quoting
 * (every field we write is checked to be free of separators, quotes and line breaks), a UTF-8 BOM
 * and CRLF tolerated on input. Parse errors are DomainError VALIDATION_ERROR naming the line.
 */
import { DomainError } from "../domain/errors";

export function statementError(bank: string, line: number, message: string): DomainError {
  return new DomainError("VALIDATION_ERROR", `${bank} statement, line ${line}: ${message}`, { bank, line });
}

/** Lines of a file without BOM, line endings or trailing blank lines. */
export function fileLines(text: string): string[] {
  if (typeof text !== "string") throw new DomainError("VALIDATION_ERROR", "statement must be a string", {});
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export function joinRow(fields: readonly string[], sep: string): string {
  for (const f of fields) {
    if (f.includes(sep) || /["\r\n]/.test(f)) {
      throw new DomainError("VALIDATION_ERROR", `statement field ${JSON.stringify(f)} contains a separator, quote or line break`, {});
    }
  }
  return fields.join(sep);
}

export function splitRow(bank: string, line: string, lineNo: number, sep: string, width: number): string[] {
  const fields = line.split(sep);
  if (fields.length !== width) throw statementError(bank, lineNo, `expected ${width} fields, got ${fields.length}`);
  return fields;
}

/** "20240301" → "2024-03-01" (checked), or undefined. */
export function compactDate(s: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  return m && validDate(`${m[1]}-${m[2]}-${m[3]}`) ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/** "120005" → "12:00:05" (checked), or undefined. */
export function compactTime(s: string): string | undefined {
  const m = /^(\d{2})(\d{2})(\d{2})$/.exec(s);
  return m && validTime(`${m[1]}:${m[2]}:${m[3]}`) ? `${m[1]}:${m[2]}:${m[3]}` : undefined;
}

export function validDate(d: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const day = Number(m[3]);
  if (mo < 1 || mo > 12 || day < 1) return false;
  const days = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return day <= days[mo - 1];
}

export function validTime(t: string): boolean {
  const m = /^(\d{2}):(\d{2}):(\d{2})$/.exec(t);
  return !!m && Number(m[1]) < 24 && Number(m[2]) < 60 && Number(m[3]) < 60;
}
