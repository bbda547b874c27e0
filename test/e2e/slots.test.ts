/**
 * A month of debit slots driven by the test clock: the scheduler starts each slot by itself at the
 * rule's time points, each plan is debited on its due date exactly once, a borrower-side failure at
 * 12:00 is retried at 18:00, and a rule change applies without a restart.
 */
import { addDays } from "../../domain/calendar";
import { startTestNode, type TestNode } from "../support/node";
import { bankDebits, banks, bindCard, calmBanks, until } from "../support/debit";

jest.setTimeout(120_000);

describe("scheduled debit slots over a month", () => {
  let node: TestNode;
  afterEach(async () => {
    await node?.stop();
  });

  async function at(date: string, time: string) {
    await node.http("POST", "/api/v1/test-clock", { to: `${date}T${time}:20+08:00` });
  }

  async function slotRuns(): Promise<any[]> {
    return (await node.http("GET", "/api/v1/runs?job=debitSlot&pageSize=500")).body.rows;
  }

  it("debits each plan once on its due date at the rule's time points", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50" });
    calmBanks(node);
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-01T08:00:00+08:00", frozen: true });
    // Three plans due on the 5th, 12th and 20th of each month; the third borrower is short at noon.
    const plans: Array<{ planId: string; card: string; dueDay: number }> = [];
    for (const [i, dueDay] of [5, 12, 20].entries()) {
      const card = `62220202001122334${40 + i}`;
      const bindingId = await bindCard(node, { customerId: `C${i}`, cardNo: card, channels: ["BANK_A"], balance: i === 2 ? "100.00" : "100000.00" });
      const res = await node.http("POST", "/api/v1/orders", {
        source: "SLOTS", orderNo: `S-${i}`, bizType: "CONSUMER", funderId: "F1", productCode: "P1",
        customer: { id: `C${i}`, name: "N", idNo: "110101199001011234", mobile: "13800138000" },
        principal: "12000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT",
        startDate: `2026-02-${String(dueDay).padStart(2, "0")}`, bindingId,
      });
      expect(res.status).toBe(200);
      plans.push({ planId: res.body.planId, card, dueDay });
    }

    let date = "2026-03-01";
    for (let day = 0; day < 31; day++) {
      for (const time of ["12:00", "18:00"]) {
        const before = (await slotRuns()).length;
        if (date === "2026-03-20" && time === "18:00") banks(node).get("BANK_A")!.setBalance(plans[2].card, "100000.00");
        await at(date, time);
        // The scheduler notices the slot within a tick and runs it.
        await until(slotRuns, (rows) => rows.length > before && rows.every((r: any) => r.status !== "RUNNING"), 10_000);
      }
      date = addDays(date, 1);
    }

    for (const p of plans) {
      const debits = bankDebits(node, p.planId);
      const moved = debits.filter((t) => t.moved);
      expect(moved).toHaveLength(1);
      expect(moved[0].tradeNo).toContain(`202603${String(p.dueDay).padStart(2, "0")}`);
      const plan = (await node.http("GET", `/api/v1/plans/${p.planId}`)).body;
      expect(plan.installments[0].status).toBe("PAID");
      expect(plan.installments[1].status).toBe("PENDING");
    }
    // The short borrower: declined at 12:00 (insufficient balance, no other channel tried), paid at 18:00.
    const third = bankDebits(node, plans[2].planId);
    expect(third.map((t) => [t.tradeNo.slice(-14), t.moved])).toEqual([
      ["202603201200-1", false],
      ["202603201800-1", true],
    ]);
    // 62 slots started by the scheduler, none by hand.
    // (A slot due on the real clock before the test clock was set may also have run: not counted.)
    expect((await slotRuns()).filter((r: any) => r.trigger === "SCHEDULE" && r.startedAt.startsWith("2026-03"))).toHaveLength(62);
  });

  it("applies a changed time point without a restart", async () => {
    node = await startTestNode({ TEST_CLOCK: "1", JOB_TICK_MS: "50" });
    calmBanks(node);
    await node.http("POST", "/api/v1/test-clock", { to: "2026-03-05T08:00:00+08:00", frozen: true });
    const bindingId = await bindCard(node, { channels: ["BANK_A"] });
    const order = await node.http("POST", "/api/v1/orders", {
      source: "SLOTS", orderNo: "R-1", bizType: "CONSUMER", funderId: "F1", productCode: "P9",
      customer: { id: "C1", name: "N", idNo: "110101199001011234", mobile: "13800138000" },
      principal: "12000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: "2026-02-05", bindingId,
    });
    const rule = await node.http("POST", "/api/v1/rules", { kind: "DEBIT_TIME_POINTS", name: "P9 at 10:00", scope: { productCode: "P9" }, effectiveFrom: "2026-03-01", content: { times: ["10:00"] } });
    expect(rule.status).toBe(200);
    await at("2026-03-05", "10:00");
    await until(() => Promise.resolve(bankDebits(node, order.body.planId).length), (n) => n === 1, 10_000);
    expect(bankDebits(node, order.body.planId)[0].tradeNo).toContain("202603051000");
  });
});
