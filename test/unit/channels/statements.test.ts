/** Statement layouts per bank: round trips (format → parse), exact layouts, and refusals. */
import { bankAMapper } from "../../../channels/bank-a/mapper";
import { bankBMapper } from "../../../channels/bank-b/mapper";
import { bankCMapper } from "../../../channels/bank-c/mapper";
import { bankDMapper } from "../../../channels/bank-d/mapper";
import type { StatementLine } from "../../../channels/channel";

const TZ = "Asia/Shanghai";
const DATE = "2024-03-01";

const LINES: StatementLine[] = [
  { tradeNo: "T-0001", channelRef: "R1", kind: "DEBIT", amount: "0.01", fee: "0.00", status: "SUCCESS", date: DATE, time: "00:00:00" },
  { tradeNo: "T-0002", channelRef: "R2", kind: "DEBIT", amount: "12345678.90", fee: "12345.68", status: "SUCCESS", date: DATE, time: "12:00:05" },
  { tradeNo: "T-0003", channelRef: "R3", kind: "PAYOUT", amount: "1000.00", fee: "0.50", status: "SUCCESS", date: DATE, time: "18:30:00" },
  { tradeNo: "T-0004", channelRef: "R4", kind: "DEBIT", amount: "99.99", fee: "0.00", status: "FAILED", date: DATE, time: "23:59:59" },
  { tradeNo: "T_5.x:y", channelRef: "R5", kind: "DEBIT", amount: "0.10", fee: "0.00", status: "FAILED", date: DATE, time: "08:00:00" },
];

const MAPPERS = [
  { name: "BANK_A", mapper: bankAMapper(TZ), lines: LINES },
  { name: "BANK_B", mapper: bankBMapper(TZ), lines: LINES },
  // bank C carries the failure's response code
  { name: "BANK_C", mapper: bankCMapper(TZ), lines: LINES.map((l) => (l.status === "FAILED" ? { ...l, bankCode: "51" } : l)) },
  { name: "BANK_D", mapper: bankDMapper(TZ), lines: LINES },
];

describe.each(MAPPERS)("$name statement", ({ mapper, lines }) => {
  it("round-trips every line exactly, including 0.01 and 12345678.90", () => {
    const csv = mapper.formatStatement(lines, DATE);
    expect(mapper.parseStatement(csv)).toEqual(lines);
  });

  it("round-trips an empty day", () => {
    expect(mapper.parseStatement(mapper.formatStatement([], DATE))).toEqual([]);
  });

  it("survives CRLF line endings", () => {
    const csv = mapper.formatStatement(lines, DATE).replace(/\r?\n/g, "\r\n");
    expect(mapper.parseStatement(csv)).toEqual(lines);
  });

  it("refuses a file with a wrong header", () => {
    expect(() => mapper.parseStatement("hello\n")).toThrow(expect.objectContaining({ code: "VALIDATION_ERROR" }));
  });

  it("refuses a row with a missing field", () => {
    const rows = mapper.formatStatement(lines, DATE).split(/\r?\n/);
    const i = rows.findIndex((r) => r.includes("T-0002"));
    rows[i] = rows[i].replace(/[,;\t|][^,;\t|]*$/, "");
    expect(() => mapper.parseStatement(rows.join("\n"))).toThrow(/line \d+/);
  });

  it("refuses a trade number that would break the layout", () => {
    const bad = [{ ...lines[0], tradeNo: "A,B;C|D\tE" }];
    expect(() => mapper.formatStatement(bad, DATE)).toThrow();
  });
});

describe("layouts as the banks write them", () => {
  it("bank A: comma CSV, amounts in fen", () => {
    expect(bankAMapper(TZ).formatStatement(LINES.slice(1, 4), DATE)).toBe(
      [
        "trade_no,bank_ref,type,amount_fen,fee_fen,status,trade_time",
        "T-0002,R2,DK,1234567890,1234568,S,2024-03-01 12:00:05",
        "T-0003,R3,DF,100000,50,S,2024-03-01 18:30:00",
        "T-0004,R4,DK,9999,0,F,2024-03-01 23:59:59",
        "",
      ].join("\n"),
    );
  });

  it("bank A: refuses fen with a decimal point", () => {
    const csv = "trade_no,bank_ref,type,amount_fen,fee_fen,status,trade_time\nT1,R1,DK,12.5,0,S,2024-03-01 12:00:05\n";
    expect(() => bankAMapper(TZ).parseStatement(csv)).toThrow(/whole fen/);
  });

  it("bank B: BOM, semicolons, Chinese header, yuan with thousands separators", () => {
    const csv = bankBMapper(TZ).formatStatement(LINES.slice(1, 2), DATE);
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    expect(csv).toBe("\uFEFF商户订单号;银行流水号;交易类型;交易金额(元);手续费(元);交易状态;交易日期;交易时间\r\nT-0002;R2;代扣;12,345,678.90;12,345.68;成功;20240301;120005\r\n");
  });

  it("bank B: accepts amounts without separators, refuses an impossible date", () => {
    const head = "商户订单号;银行流水号;交易类型;交易金额(元);手续费(元);交易状态;交易日期;交易时间";
    expect(bankBMapper(TZ).parseStatement(`${head}\nT1;R1;代付;1234.5;0;失败;20240229;000000\n`)).toEqual([
      { tradeNo: "T1", channelRef: "R1", kind: "PAYOUT", amount: "1234.50", fee: "0.00", status: "FAILED", date: "2024-02-29", time: "00:00:00" },
    ]);
    expect(() => bankBMapper(TZ).parseStatement(`${head}\nT1;R1;代付;1234.5;0;失败;20230229;000000\n`)).toThrow(/交易日期/);
  });

  it("bank C: title line, tabs, 12-digit fen, response codes", () => {
    const csv = bankCMapper(TZ).formatStatement([LINES[0], { ...LINES[3], bankCode: "62" }], DATE);
    expect(csv).toBe(
      [
        "# BANK_C DAILY STATEMENT 2024-03-01",
        "TXN_DATE\tTXN_TIME\tREQ_SN\tBANK_SN\tTXN_TYPE\tAMT\tFEE\tRESP",
        "2024-03-01\t00:00:00\tT-0001\tR1\tDEBIT\t000000000001\t000000000000\t00",
        "2024-03-01\t23:59:59\tT-0004\tR4\tDEBIT\t000000009999\t000000000000\t62",
        "",
      ].join("\n"),
    );
  });

  it("bank D: pipes, ISO times with the bank's offset, a trailer of totals", () => {
    const csv = bankDMapper(TZ).formatStatement(LINES.slice(1, 4), DATE);
    expect(csv).toBe(
      [
        "ORDER_ID|BANK_SEQ|TYPE|AMOUNT|FEE|STATUS|DATETIME",
        "T-0002|R2|COLLECT|12345678.90|12345.68|SUCCESS|2024-03-01T12:00:05+08:00",
        "T-0003|R3|DISBURSE|1000.00|0.50|SUCCESS|2024-03-01T18:30:00+08:00",
        "T-0004|R4|COLLECT|99.99|0.00|FAILURE|2024-03-01T23:59:59+08:00",
        "TOTAL|3|12346678.90|12346.18",
        "",
      ].join("\n"),
    );
  });

  it("bank D: refuses a file whose trailer does not add up, or that lost its trailer", () => {
    const csv = bankDMapper(TZ).formatStatement(LINES, DATE);
    expect(() => bankDMapper(TZ).parseStatement(csv.replace(/TOTAL\|5\|/, "TOTAL|4|"))).toThrow(/trailer counts/);
    expect(() => bankDMapper(TZ).parseStatement(csv.replace(/TOTAL\|5\|[^|]+/, "TOTAL|5|1.00"))).toThrow(/totals/);
    expect(() => bankDMapper(TZ).parseStatement(csv.split("\n").slice(0, -2).join("\n"))).toThrow(/trailer/);
  });
});
