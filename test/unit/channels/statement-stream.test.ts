/** The streaming statement reader: each bank's own writer's files read back; bad files refused with the line. */
import { bankAMapper } from "../../../channels/bank-a/mapper";
import { bankBMapper } from "../../../channels/bank-b/mapper";
import { bankCMapper } from "../../../channels/bank-c/mapper";
import { bankDMapper } from "../../../channels/bank-d/mapper";
import type { StatementLine } from "../../../channels/channel";
import { parseStatementFile, StatementParser } from "../../../channels/statement-stream";
import { centsToAmount } from "../../../domain/reconcile";

const DATE = "2026-02-15";
const LINES: StatementLine[] = [
  { tradeNo: "DB-PL1-1", channelRef: "A0001", kind: "DEBIT", amount: "8884.88", fee: "0.50", status: "SUCCESS", date: DATE, time: "12:00:05" },
  { tradeNo: "DB-PL2-1", channelRef: "A0002", kind: "DEBIT", amount: "1234567.90", fee: "0.00", status: "FAILED", date: DATE, time: "12:00:06" },
  { tradeNo: "PO-9", channelRef: "A0003", kind: "PAYOUT", amount: "0.01", fee: "1.00", status: "SUCCESS", date: DATE, time: "23:59:59" },
];
const WRITERS = {
  BANK_A: (l: StatementLine[]) => bankAMapper().formatStatement(l, DATE),
  BANK_B: (l: StatementLine[]) => bankBMapper().formatStatement(l, DATE),
  BANK_C: (l: StatementLine[]) => bankCMapper().formatStatement(l, DATE),
  BANK_D: (l: StatementLine[]) => bankDMapper().formatStatement(l, DATE),
} as const;
type Bank = keyof typeof WRITERS;
const BANKS = Object.keys(WRITERS) as Bank[];

describe.each(BANKS)("%s statement", (bank) => {
  const good = WRITERS[bank](LINES);

  it("reads the bank's own file, also in 1-byte chunks, like the bank's mapper", () => {
    const whole = parseStatementFile(bank, DATE, good);
    const p = new StatementParser({ channel: bank, date: DATE });
    for (const b of Buffer.from(good, "utf8")) p.push(Uint8Array.of(b));
    const bytewise = p.end();
    for (const idx of [whole, bytewise]) {
      expect(idx.size).toBe(3);
      const l = idx.lines.get("DB-PL2-1")!;
      expect([centsToAmount(l.cents), l.status, l.kind, l.date]).toEqual(["1234567.90", "FAILED", "DEBIT", DATE]);
      expect(centsToAmount(idx.lines.get("PO-9")!.cents)).toBe("0.01");
      expect(centsToAmount(idx.lines.get("DB-PL1-1")!.feeCents)).toBe("0.50");
    }
    const mapper = { BANK_A: bankAMapper, BANK_B: bankBMapper, BANK_C: bankCMapper, BANK_D: bankDMapper }[bank]();
    const theirs = mapper.parseStatement(good);
    expect(theirs.map((x) => [x.tradeNo, x.amount, x.status])).toEqual([...whole.lines.values()].map((x) => [x.tradeNo, centsToAmount(x.cents), x.status]));
  });

  it("reads an empty day (header only)", () => {
    expect(parseStatementFile(bank, DATE, WRITERS[bank]([])).size).toBe(0);
  });

  const dataLine = bank === "BANK_C" ? 3 : 2;
  const lines = good.replace(/\r/g, "").replace(/^\uFEFF/, "").split("\n");
  const sep = { BANK_A: ",", BANK_B: ";", BANK_C: "\t", BANK_D: "|" }[bank];
  const amountCol = { BANK_A: 3, BANK_B: 3, BANK_C: 5, BANK_D: 3 }[bank];
  const withAmount = (v: string) => {
    const copy = [...lines];
    const f = copy[dataLine - 1].split(sep);
    f[amountCol] = v;
    copy[dataLine - 1] = f.join(sep);
    return copy.join("\n");
  };

  it.each([
    ["a missing column", () => lines.map((l, i) => (i === dataLine - 1 ? l.split(sep).slice(0, -1).join(sep) : l)).join("\n"), "COLUMNS", dataLine],
    ["an amount with three decimals", () => withAmount("12.345"), "AMOUNT", dataLine],
    ["an amount in exponent form", () => withAmount("1e3"), "AMOUNT", dataLine],
    ["a negative amount", () => withAmount("-5"), "AMOUNT", dataLine],
    ["another header", () => ["x,y,z", ...lines.slice(1)].join("\n"), "HEADER", 1],
    ["a blank line inside", () => [...lines.slice(0, dataLine), "", ...lines.slice(dataLine)].join("\n"), "BLANK_LINE", dataLine + 1],
    ["a NUL byte", () => good.replace("DB-PL1-1", "DB-PL1\u0000-1"), "ENCODING", dataLine],
  ])("refuses %s with the line", (_name, make, reason, line) => {
    expect(() => parseStatementFile(bank, DATE, make())).toThrow(expect.objectContaining({ code: "STATEMENT_INVALID", data: expect.objectContaining({ reason, line }) }));
  });

  it("refuses an empty file and a trade number twice", () => {
    expect(() => parseStatementFile(bank, DATE, "")).toThrow(expect.objectContaining({ code: "STATEMENT_INVALID", data: expect.objectContaining({ reason: "EMPTY" }) }));
    const twice = WRITERS[bank]([LINES[0], LINES[1], { ...LINES[0], channelRef: "A0009" }]);
    expect(() => parseStatementFile(bank, DATE, twice)).toThrow(expect.objectContaining({ code: "STATEMENT_INVALID", data: expect.objectContaining({ reason: "DUPLICATE_TRADE_NO", line: dataLine + 2, firstLine: dataLine }) }));
  });
});

describe("encodings", () => {
  it("refuses a BOM-less GBK file, naming the line where the bad bytes start", () => {
    // 商户订单号 in GBK: not UTF-8.
    const gbkHeader = Buffer.from([0xc9, 0xcc, 0xbb, 0xa7, 0xb6, 0xa9, 0xb5, 0xa5, 0xba, 0xc5]);
    const file = Buffer.concat([gbkHeader, Buffer.from(";x\n")]);
    expect(() => parseStatementFile("BANK_B", DATE, file)).toThrow(expect.objectContaining({ code: "STATEMENT_INVALID", data: expect.objectContaining({ reason: "ENCODING", line: 1 }) }));
    const later = Buffer.concat([Buffer.from(bankAMapper().formatStatement(LINES, DATE)), Buffer.from([0xb3, 0xc9, 0x0a])]);
    expect(() => parseStatementFile("BANK_A", DATE, later)).toThrow(expect.objectContaining({ data: expect.objectContaining({ reason: "ENCODING", line: 5 }) }));
  });

  it("takes UTF-8 with or without BOM and CRLF line ends", () => {
    const a = bankAMapper().formatStatement(LINES, DATE);
    expect(parseStatementFile("BANK_A", DATE, "\uFEFF" + a.replace(/\n/g, "\r\n")).size).toBe(3);
    expect(parseStatementFile("BANK_B", DATE, bankBMapper().formatStatement(LINES, DATE).replace(/^\uFEFF/, "")).size).toBe(3);
  });

  it("checks bank C's title date and bank D's trailer", () => {
    expect(() => parseStatementFile("BANK_C", "2026-02-16", WRITERS.BANK_C(LINES))).toThrow(expect.objectContaining({ data: expect.objectContaining({ reason: "STATEMENT_DATE", line: 1 }) }));
    const d = WRITERS.BANK_D(LINES);
    expect(() => parseStatementFile("BANK_D", DATE, d.replace(/TOTAL\|3\|/, "TOTAL|2|"))).toThrow(expect.objectContaining({ data: expect.objectContaining({ reason: "TRAILER" }) }));
    expect(() => parseStatementFile("BANK_D", DATE, d.replace(/\nTOTAL.*\n$/, "\n"))).toThrow(expect.objectContaining({ data: expect.objectContaining({ reason: "TRAILER" }) }));
  });

  it("refuses a channel without a known layout", () => {
    expect(() => parseStatementFile("BANK_Z", DATE, "x")).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });
});
