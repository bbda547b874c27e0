/**
 * Streaming parse and validation of the banks' statement files (对账单), for reconciliation.
 *
 * The banks' mappers (`bank-X/mapper.ts` `parseStatement`) read a whole file into `StatementLine`
 * objects with decimal-string amounts; that is right for an adapter and too slow and too big for a
 * million-line file. This reader takes the same four layouts chunk by chunk (bytes or text), checks
 * every line as strictly as the mappers do (and the tests hold it to the mappers' own writer), and
 * hands each line on in the compact form the matching engine uses (`TheirLine`, integer cents).
 *
 * Rejected, with DomainError STATEMENT_INVALID { channel, line, reason } naming the file line:
 *   bytes that are not UTF-8 (e.g. a GBK file without BOM), NUL bytes, a missing or different
 *   header/title, a wrong number of fields, amounts that are not whole fen / yuan with at most two
 *   decimals ("12.345", "1e3", "-5"), bad dates, times, types, statuses or trade numbers, a blank
 *   line inside the file, an overlong line, an empty file, bank D's missing or wrong TOTAL trailer,
 *   bank C's title for another date, and a trade number that appears twice.
 */
import { TRADE_NO_PATTERN } from "./channel";
import { compactDate, compactTime, validDate, validTime } from "./csv";
import { DomainError } from "../domain/errors";
import { amountToCents, StatementIndex, type TheirLine } from "../domain/reconcile";

export type StatementLayout = "BANK_A" | "BANK_B" | "BANK_C" | "BANK_D";
export const STATEMENT_LAYOUTS: readonly StatementLayout[] = ["BANK_A", "BANK_B", "BANK_C", "BANK_D"];

// The layouts' fixed lines, as the banks' mappers write them (the unit tests parse the mappers' own output).
const A_HEADER = "trade_no,bank_ref,type,amount_fen,fee_fen,status,trade_time";
const B_HEADER = "商户订单号;银行流水号;交易类型;交易金额(元);手续费(元);交易状态;交易日期;交易时间";
const C_TITLE = /^# BANK_C DAILY STATEMENT (\d{4}-\d{2}-\d{2})$/;
const C_HEADER = ["TXN_DATE", "TXN_TIME", "REQ_SN", "BANK_SN", "TXN_TYPE", "AMT", "FEE", "RESP"].join("\t");
const D_HEADER = "ORDER_ID|BANK_SEQ|TYPE|AMOUNT|FEE|STATUS|DATETIME";
const D_DATETIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})([+-]\d{2}:\d{2}|Z)$/;
const A_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/;

const FEN = /^\d{1,17}$/;
const FEN12 = /^\d{12}$/;
const YUAN_PLAIN = /^(\d{1,15})(?:\.(\d{1,2}))?$/;
const YUAN_GROUPED = /^\d{1,3}(?:,\d{3}){1,4}(?:\.\d{1,2})?$/;
const MAX_LINE = 4096;

export function layoutOf(channel: string): StatementLayout {
  if ((STATEMENT_LAYOUTS as readonly string[]).includes(channel)) return channel as StatementLayout;
  throw new DomainError("VALIDATION_ERROR", `No statement layout is known for channel ${channel}`, { field: "channel", channel });
}

export function statementInvalid(channel: string, line: number, reason: string, message: string): DomainError {
  return new DomainError("STATEMENT_INVALID", `${channel} statement, line ${line}: ${message}`, { channel, line, reason });
}

function yuanCents(text: string): bigint | null {
  const plain = YUAN_PLAIN.exec(text);
  if (plain) return BigInt(plain[1] + (plain[2] ?? "").padEnd(2, "0"));
  if (!YUAN_GROUPED.test(text)) return null;
  const [int, frac = ""] = text.replace(/,/g, "").split(".");
  return BigInt(int + frac.padEnd(2, "0"));
}

function canonicalCents(text: string): bigint | null {
  try {
    return amountToCents(text);
  } catch {
    return null;
  }
}

export interface StatementParserOptions {
  /** The channel the file comes from (its layout, and the name in errors). */
  channel: string;
  /** The business date the statement is for (bank C's title must carry it). */
  date: string;
  /** Every valid line, in file order. Default: collected into `index`. */
  onLine?: (line: TheirLine) => void;
}

/**
 * Push bytes or text in any chunks, then `end()`. Throws STATEMENT_INVALID at the first problem.
 *
 *   const p = new StatementParser({ channel: "BANK_A", date: "2026-02-15" });
 *   for await (const chunk of stream) p.push(chunk);
 *   const index = p.end();   // StatementIndex: tradeNo → line
 */
export class StatementParser {
  readonly layout: StatementLayout;
  readonly index = new StatementIndex();
  /** File lines read so far (header lines included). */
  lineNo = 0;
  /** Data lines accepted so far. */
  rows = 0;
  private readonly decoder = new TextDecoder("utf-8", { fatal: true });
  private rest = "";
  private blankAt = 0;
  private ended = false;
  private readonly onLine: (l: TheirLine) => void;
  private readonly knownDates = new Set<string>();
  // bank D trailer
  private trailer: string[] | null = null;
  private trailerLine = 0;
  private successCents = 0n;
  private feeCents = 0n;

  constructor(private readonly opts: StatementParserOptions) {
    this.layout = layoutOf(opts.channel);
    this.onLine = opts.onLine ?? ((l) => this.index.add(l));
  }

  push(chunk: Uint8Array | string): void {
    let text: string;
    if (typeof chunk === "string") text = chunk;
    else {
      try {
        text = this.decoder.decode(chunk, { stream: true });
      } catch {
        // Read the lines before the first bad byte, so the error names the line that holds it.
        const lenient = new TextDecoder("utf-8").decode(chunk, { stream: true });
        const bad = lenient.indexOf("\uFFFD");
        if (bad > 0) this.feed(lenient.slice(0, bad));
        throw this.encodingError();
      }
    }
    this.feed(text);
  }

  end(): StatementIndex {
    if (this.ended) return this.index;
    this.ended = true;
    let tail: string;
    try {
      tail = this.decoder.decode();
    } catch {
      throw this.encodingError();
    }
    this.feed(tail);
    if (this.rest.length) {
      const last = this.rest;
      this.rest = "";
      this.handle(last.endsWith("\r") ? last.slice(0, -1) : last);
    }
    this.finish();
    return this.index;
  }

  private encodingError(): DomainError {
    return statementInvalid(this.opts.channel, this.lineNo + 1, "ENCODING", "the file is not valid UTF-8 (a GBK or other legacy encoding?); send it as UTF-8");
  }

  private feed(text: string): void {
    if (!text) return;
    if (this.lineNo === 0 && this.rest === "" && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let buf = this.rest + text;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf("\n", start);
      if (nl < 0) break;
      const end = nl > start && buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.handle(buf.slice(start, end));
      start = nl + 1;
    }
    buf = buf.slice(start);
    if (buf.length > MAX_LINE) throw statementInvalid(this.opts.channel, this.lineNo + 1, "LINE_TOO_LONG", `a line is longer than ${MAX_LINE} characters`);
    this.rest = buf;
  }

  private handle(line: string): void {
    this.lineNo++;
    const n = this.lineNo;
    const ch = this.opts.channel;
    if (line.includes("\u0000")) throw statementInvalid(ch, n, "ENCODING", "NUL byte in the file (UTF-16 or a binary file?); send UTF-8 text");
    if (line.length > MAX_LINE) throw statementInvalid(ch, n, "LINE_TOO_LONG", `line longer than ${MAX_LINE} characters`);
    if (line === "") {
      if (!this.blankAt) this.blankAt = n;
      return;
    }
    if (this.blankAt) throw statementInvalid(ch, this.blankAt, "BLANK_LINE", "blank line inside the file");
    if (this.trailer) throw statementInvalid(ch, n, "AFTER_TRAILER", "line after the TOTAL trailer");
    switch (this.layout) {
      case "BANK_A":
        return this.lineA(line, n);
      case "BANK_B":
        return this.lineB(line, n);
      case "BANK_C":
        return this.lineC(line, n);
      case "BANK_D":
        return this.lineD(line, n);
    }
  }

  private bad(n: number, reason: string, message: string): never {
    throw statementInvalid(this.opts.channel, n, reason, message);
  }

  private fields(line: string, n: number, sep: string, width: number): string[] {
    const f = line.split(sep);
    if (f.length !== width) this.bad(n, "COLUMNS", `expected ${width} fields separated by ${JSON.stringify(sep)}, got ${f.length}`);
    return f;
  }

  private checkDate(d: string): boolean {
    if (this.knownDates.has(d)) return true;
    if (!validDate(d)) return false;
    this.knownDates.add(d);
    return true;
  }

  private emit(n: number, tradeNo: string, ref: string, kind: "DEBIT" | "PAYOUT", cents: bigint, feeCents: bigint, ok: boolean, date: string, bankCode?: string): void {
    if (!TRADE_NO_PATTERN.test(tradeNo)) this.bad(n, "TRADE_NO", `trade number ${JSON.stringify(tradeNo)} is not 1-64 of [A-Za-z0-9_.:-]`);
    if (!ref) this.bad(n, "BANK_REF", "the bank reference is empty");
    this.rows++;
    const line: TheirLine = { tradeNo, kind, cents, feeCents, status: ok ? "SUCCESS" : "FAILED", date, channelRef: ref, line: n };
    if (bankCode !== undefined) line.bankCode = bankCode;
    this.onLine(line);
  }

  private lineA(line: string, n: number): void {
    if (n === 1) {
      if (line !== A_HEADER) this.bad(n, "HEADER", `header must be ${A_HEADER}`);
      return;
    }
    const [tradeNo, ref, type, amountFen, feeFen, status, at] = this.fields(line, n, ",", 7);
    if (type !== "DK" && type !== "DF") this.bad(n, "TYPE", `type ${JSON.stringify(type)} (DK or DF)`);
    if (status !== "S" && status !== "F") this.bad(n, "STATUS", `status ${JSON.stringify(status)} (S or F)`);
    const m = A_TIME.exec(at);
    if (!m || !this.checkDate(m[1]) || !validTime(m[2])) this.bad(n, "DATE", `trade_time ${JSON.stringify(at)} (yyyy-MM-dd HH:mm:ss)`);
    if (!FEN.test(amountFen) || !FEN.test(feeFen)) this.bad(n, "AMOUNT", `amount_fen ${JSON.stringify(amountFen)} / fee_fen ${JSON.stringify(feeFen)} must be whole fen (digits only)`);
    this.emit(n, tradeNo, ref, type === "DK" ? "DEBIT" : "PAYOUT", BigInt(amountFen), BigInt(feeFen), status === "S", m[1]);
  }

  private lineB(line: string, n: number): void {
    if (n === 1) {
      if (line !== B_HEADER) this.bad(n, "HEADER", `header must be ${B_HEADER}`);
      return;
    }
    const [tradeNo, ref, type, amountText, feeText, status, dateText, timeText] = this.fields(line, n, ";", 8);
    if (type !== "代扣" && type !== "代付") this.bad(n, "TYPE", `交易类型 ${JSON.stringify(type)} (代扣 or 代付)`);
    if (status !== "成功" && status !== "失败") this.bad(n, "STATUS", `交易状态 ${JSON.stringify(status)} (成功 or 失败)`);
    const date = compactDate(dateText);
    if (!date || !compactTime(timeText)) this.bad(n, "DATE", `交易日期/时间 ${JSON.stringify(dateText)} ${JSON.stringify(timeText)} (yyyyMMdd HHmmss)`);
    const cents = yuanCents(amountText);
    const fee = yuanCents(feeText);
    if (cents === null || fee === null) this.bad(n, "AMOUNT", `交易金额/手续费 ${JSON.stringify(amountText)} / ${JSON.stringify(feeText)} must be yuan with at most two decimals`);
    this.emit(n, tradeNo, ref, type === "代扣" ? "DEBIT" : "PAYOUT", cents, fee, status === "成功", date);
  }

  private lineC(line: string, n: number): void {
    if (n === 1) {
      const t = C_TITLE.exec(line);
      if (!t || !validDate(t[1])) this.bad(n, "HEADER", "title must be # BANK_C DAILY STATEMENT yyyy-MM-dd");
      if (t[1] !== this.opts.date) this.bad(n, "STATEMENT_DATE", `the file is the statement of ${t[1]}, not of ${this.opts.date}`);
      return;
    }
    if (n === 2) {
      if (line !== C_HEADER) this.bad(n, "HEADER", "header must be TXN_DATE…RESP, tab-separated");
      return;
    }
    const [date, time, tradeNo, ref, type, amt, fee, resp] = this.fields(line, n, "\t", 8);
    if (!this.checkDate(date) || !validTime(time)) this.bad(n, "DATE", `TXN_DATE/TXN_TIME ${JSON.stringify(date)} ${JSON.stringify(time)}`);
    if (type !== "DEBIT" && type !== "PAYOUT") this.bad(n, "TYPE", `TXN_TYPE ${JSON.stringify(type)} (DEBIT or PAYOUT)`);
    if (!FEN12.test(amt) || !FEN12.test(fee)) this.bad(n, "AMOUNT", `AMT ${JSON.stringify(amt)} / FEE ${JSON.stringify(fee)} must be 12-digit fen`);
    if (!/^[0-9A-Z]{2}$/.test(resp)) this.bad(n, "STATUS", `RESP ${JSON.stringify(resp)} (two characters, 00 = success)`);
    const ok = resp === "00";
    this.emit(n, tradeNo, ref, type, BigInt(amt), BigInt(fee), ok, date, ok ? undefined : resp);
  }

  private lineD(line: string, n: number): void {
    if (n === 1) {
      if (line !== D_HEADER) this.bad(n, "HEADER", `header must be ${D_HEADER}`);
      return;
    }
    if (line.startsWith("TOTAL|")) {
      this.trailer = this.fields(line, n, "|", 4);
      this.trailerLine = n;
      return;
    }
    const [tradeNo, ref, type, amountText, feeText, status, at] = this.fields(line, n, "|", 7);
    if (type !== "COLLECT" && type !== "DISBURSE") this.bad(n, "TYPE", `TYPE ${JSON.stringify(type)} (COLLECT or DISBURSE)`);
    if (status !== "SUCCESS" && status !== "FAILURE") this.bad(n, "STATUS", `STATUS ${JSON.stringify(status)} (SUCCESS or FAILURE)`);
    const m = D_DATETIME.exec(at);
    if (!m || !this.checkDate(m[1]) || !validTime(m[2])) this.bad(n, "DATE", `DATETIME ${JSON.stringify(at)} (ISO with offset)`);
    const cents = canonicalCents(amountText);
    const fee = canonicalCents(feeText);
    if (cents === null || fee === null) this.bad(n, "AMOUNT", `AMOUNT ${JSON.stringify(amountText)} / FEE ${JSON.stringify(feeText)} must be yuan with at most two decimals`);
    const ok = status === "SUCCESS";
    if (ok) this.successCents += cents;
    this.feeCents += fee;
    this.emit(n, tradeNo, ref, type === "COLLECT" ? "DEBIT" : "PAYOUT", cents, fee, ok, m[1]);
  }

  private finish(): void {
    const ch = this.opts.channel;
    const headerLines = this.layout === "BANK_C" ? 2 : 1;
    if (this.lineNo === 0 || (this.blankAt === 1 && this.rows === 0)) throw statementInvalid(ch, 1, "EMPTY", "the file is empty");
    if (this.lineNo < headerLines) throw statementInvalid(ch, this.lineNo + 1, "HEADER", "the header is missing");
    if (this.layout !== "BANK_D") return;
    if (!this.trailer) throw statementInvalid(ch, this.lineNo, "TRAILER", "missing TOTAL trailer");
    const [, count, total, fees] = this.trailer;
    const n = this.trailerLine;
    if (count !== String(this.rows)) throw statementInvalid(ch, n, "TRAILER", `trailer counts ${count} rows, file has ${this.rows}`);
    const t = canonicalCents(total);
    const f = canonicalCents(fees);
    if (t === null || f === null) throw statementInvalid(ch, n, "TRAILER", "trailer amounts must be yuan");
    if (t !== this.successCents || f !== this.feeCents) throw statementInvalid(ch, n, "TRAILER", `trailer totals ${total}/${fees} differ from the rows`);
  }
}

/** A whole file (text or bytes) → its index. */
export function parseStatementFile(channel: string, date: string, content: string | Uint8Array): StatementIndex {
  const p = new StatementParser({ channel, date });
  // Fed in slices so the same code path as a stream runs.
  const step = 1 << 20;
  for (let i = 0; i < content.length; i += step) p.push(content.slice(i, i + step));
  return p.end();
}

/** A stream of chunks (HTTP body, file) → its index; `onProgress` after every chunk. */
export async function parseStatementStream(channel: string, date: string, stream: AsyncIterable<Uint8Array | string>, onProgress?: (p: StatementParser) => void): Promise<StatementIndex> {
  const p = new StatementParser({ channel, date });
  for await (const chunk of stream) {
    p.push(chunk);
    onProgress?.(p);
  }
  return p.end();
}
