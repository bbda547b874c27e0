/**
 * Issue 4's proof: a 36-month plan driven by the test clock through late payment, penalty accrual
 * under two funders' rules, a waiver, a rescheduling, a transfer, a partial prepayment and an early
 * settlement — every step over REST, every figure checked to the cent against
 * test/fixtures/servicing/expected.json, computed independently by reference.py from the documented
 * conventions (see the README there). The scheduled jobs run too (the test clock moves to 09:00,
 * past the 01:00 accrual time): whatever they do concurrently must not change a figure.
 */
import fs from "node:fs";
import path from "node:path";
import { startTestNode, type TestNode, WAIT_SCALE } from "../support/node";
import { until } from "../support/debit";

jest.setTimeout(180_000 * WAIT_SCALE);

const dir = path.join(__dirname, "../fixtures/servicing");
const scenario = JSON.parse(fs.readFileSync(path.join(dir, "scenario.json"), "utf8"));
const expected = JSON.parse(fs.readFileSync(path.join(dir, "expected.json"), "utf8"));

const FIELDS = ["period", "dueDate", "principal", "interest", "fee", "penalty", "paidPrincipal", "paidInterest", "paidFee", "paidPenalty", "outstanding", "status"] as const;

function pick(i: Record<string, unknown>) {
  return Object.fromEntries(FIELDS.map((f) => [f, i[f]]));
}

describe("servicing scenario (36 months, two funders)", () => {
  let node: TestNode;
  let planId: string;
  let today = "";
  const paid: Record<string, string> = {};

  beforeAll(async () => {
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50" });
    await node.http("POST", "/api/v1/test-clock", { to: `${scenario.plan.startDate}T09:00:00+08:00`, frozen: true });
    for (const [i, r] of scenario.rules.entries()) {
      const res = await node.http("POST", "/api/v1/rules", { name: `scenario ${i}`, ...r });
      expect(res.status).toBe(200);
    }
    const res = await node.http("POST", "/api/v1/orders", {
      ...scenario.plan,
      customer: { id: "C-SCN", name: "Li Si", idNo: "110101199001011234", mobile: "13800138000" },
    });
    expect(res.status).toBe(200);
    planId = res.body.planId;
  });

  afterAll(async () => {
    await node?.stop();
  });

  async function plan() {
    const res = await node.http("GET", `/api/v1/plans/${planId}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  async function dueNow(): Promise<string> {
    // What the borrower owes today: the settlement-free figure from the plan itself.
    const p = await plan();
    let cents = 0n;
    for (const i of p.installments) if (i.dueDate <= today && i.status !== "PAID") cents += BigInt(i.outstanding.replace(".", ""));
    const s = cents.toString().padStart(3, "0");
    return `${s.slice(0, -2)}.${s.slice(-2)}`;
  }

  it("matches the independent figures at every step", async () => {
    for (const [index, step] of scenario.steps.entries()) {
      const exp = expected.steps[index];
      expect({ index, op: exp.op }).toEqual({ index, op: step.op });
      const where = `step ${index} (${step.op}${step.no ? " " + step.no : ""} on ${today})`;
      switch (step.op) {
        case "clock": {
          today = step.date;
          const res = await node.http("POST", "/api/v1/test-clock", { to: `${step.date}T09:00:00+08:00`, frozen: true });
          expect(res.status).toBe(200);
          break;
        }
        case "accrue": {
          const res = await node.http("POST", "/api/v1/fees/accrual-runs", {}, "ops");
          expect(res.status).toBe(200);
          await until(async () => (await node.http("GET", `/api/v1/runs/${res.body.runId}`)).body, (r: any) => r.status !== "RUNNING", 20_000);
          break;
        }
        case "repay": {
          // Accrue first so that "what is due" includes today's penalty, then pay the reference's amount.
          await node.broker.call("schedule.accrue", { planId });
          const amount = step.amount === "DUE" ? exp.amount : step.amount;
          expect({ where, due: await dueNow() }).toEqual({ where, due: amount });
          const res = await node.http("POST", `/api/v1/plans/${planId}/repayments`, { repaymentNo: step.no, amount }, "ops");
          expect({ where, status: res.status, surplus: res.body.surplus }).toEqual({ where, status: 200, surplus: "0.00" });
          paid[step.no] = amount;
          break;
        }
        case "waive": {
          const res = await node.http("POST", `/api/v1/plans/${planId}/waivers`, { waiverNo: step.no, period: step.period, ...(step.fee ? { fee: step.fee } : {}), ...(step.penalty ? { penalty: step.penalty } : {}), reason: step.reason }, "ops");
          expect({ where, status: res.status }).toEqual({ where, status: 200 });
          break;
        }
        case "transfer": {
          const res = await node.http("POST", "/api/v1/transfers", { transferNo: step.no, planIds: [planId], toFunderId: step.toFunderId, effectiveDate: step.effectiveDate, priceRatio: step.priceRatio }, "ops");
          expect({ where, status: res.status, state: res.body.status }).toEqual({ where, status: 200, state: "SCHEDULED" });
          break;
        }
        case "reschedule": {
          const res = await node.http("POST", `/api/v1/plans/${planId}/reschedule`, { rescheduleNo: step.no, type: step.type, periods: step.periods, reason: step.reason }, "ops");
          expect({ where, status: res.status, body: res.status === 200 ? "ok" : res.body }).toEqual({ where, status: 200, body: "ok" });
          break;
        }
        case "prepay": {
          const quote = await node.http("GET", `/api/v1/plans/${planId}/prepayment-quote?principal=${step.principal}`);
          expect({ where, total: quote.body.total }).toEqual({ where, total: exp.amount });
          const res = await node.http("POST", `/api/v1/plans/${planId}/prepayments`, { prepaymentNo: step.no, principal: step.principal, amount: exp.amount, mode: step.mode }, "ops");
          expect({ where, status: res.status, body: res.status === 200 ? "ok" : res.body }).toEqual({ where, status: 200, body: "ok" });
          paid[step.no] = exp.amount;
          break;
        }
        case "settle": {
          const quote = await node.http("GET", `/api/v1/plans/${planId}/settlement-quote`);
          const q = quote.body;
          const fields = ["principal", "interest", "fee", "penalty", "prepaymentFee", "total"];
          expect({ where, ...Object.fromEntries(fields.map((f) => [f, q[f]])) }).toEqual({ where, ...Object.fromEntries(fields.map((f) => [f, exp.quote[f]])) });
          const res = await node.http("POST", `/api/v1/plans/${planId}/settlements`, { settlementNo: step.no, method: "OFFLINE", amount: q.total }, "ops");
          expect({ where, status: res.status, state: res.body.status }).toEqual({ where, status: 200, state: "SETTLED" });
          paid[step.no] = q.total;
          break;
        }
        case "check": {
          const p = await plan();
          expect({ where, status: p.status, funderId: p.funderId, installments: p.installments.map(pick) }).toEqual({
            where,
            status: exp.plan.status,
            funderId: exp.plan.funderId,
            installments: exp.plan.installments.map(pick),
          });
          break;
        }
        default:
          throw new Error(`unknown op ${step.op}`);
      }
    }
  });

  it("attributed every yuan to the owner on its collection date", async () => {
    const flows = (await node.http("GET", `/api/v1/flows?planId=${planId}&pageSize=500`)).body.rows;
    const by: Record<string, bigint> = {};
    for (const f of flows) by[f.funderId] = (by[f.funderId] ?? 0n) + BigInt(f.amount.replace(".", ""));
    const fmt = (c: bigint) => {
      const s = c.toString().padStart(3, "0");
      return `${s.slice(0, -2)}.${s.slice(-2)}`;
    };
    expect(Object.fromEntries(Object.entries(by).map(([k, v]) => [k, fmt(v)]))).toEqual(expected.collectedByFunder);
    expect(flows.length).toBe(Object.keys(paid).length);
  });

  it("replays change nothing: the same repayment, waiver, prepayment and settlement numbers answer as before", async () => {
    const before = await plan();
    const replays = [
      node.http("POST", `/api/v1/plans/${planId}/repayments`, { repaymentNo: "R1-ontime", amount: paid["R1-ontime"] }, "ops"),
      node.http("POST", `/api/v1/plans/${planId}/settlements`, { settlementNo: "S1-settle", method: "OFFLINE", amount: paid["S1-settle"] }, "ops"),
    ];
    for (const r of await Promise.all(replays)) expect({ status: r.status, replayed: r.body.replayed }).toEqual({ status: 200, replayed: true });
    const conflict = await node.http("POST", `/api/v1/plans/${planId}/repayments`, { repaymentNo: "R1-ontime", amount: "1.00" }, "ops");
    expect({ status: conflict.status, code: conflict.body.code }).toEqual({ status: 409, code: "OPERATION_CONFLICT" });
    const after = await plan();
    expect(after.version).toBe(before.version);
  });

  it("kept the plan's history: revisions for the reschedule, the prepayment and the settlement; owners; audited events", async () => {
    const res = await node.http("GET", `/api/v1/plans/${planId}/revisions`);
    expect(res.body.revisions.map((r: any) => r.reason)).toEqual(["RESCHEDULE DEFER", "PREPAYMENT KEEP_TERM", "SETTLEMENT"]);
    expect(res.body.owners.map((o: any) => [o.funderId, o.from])).toEqual([
      ["F-A", "2026-01-10"],
      ["F-B", "2026-05-15"],
    ]);
    const actions = res.body.events.map((e: any) => e.action);
    for (const a of ["OFFLINE_REPAYMENT", "WAIVER", "TRANSFER_SCHEDULED", "TRANSFERRED", "RESCHEDULE", "PREPAYMENT", "SETTLED"]) expect(actions).toContain(a);
    const waiver = res.body.events.find((e: any) => e.action === "WAIVER");
    expect(waiver).toMatchObject({ by: "olivia", reason: "first late payment goodwill", ref: "W1-latefee" });
  });
});
