import { startTestNode, type TestNode } from "../../support/node";
import { RULE_HISTORY_KEEP } from "../../../services/rules.service";

const allocation = { order: ["PENALTY", "FEE", "INTEREST", "PRINCIPAL"] };

describe("rules service", () => {
  let node: TestNode;
  let events: any[];
  beforeEach(async () => {
    node = await startTestNode();
    events = [];
    node.broker.createService({
      name: "rules-listener",
      events: {
        "rules.changed"(ctx: any) {
          events.push(ctx.params);
        },
      },
    });
    await node.broker.waitForServices(["rules-listener"]);
  });
  afterEach(async () => {
    await node.stop();
  });

  const call = (action: string, params: any, user = "olivia") => node.broker.call(action, params, { meta: { user: { name: user, role: "ops" } } });

  it("seeds one default rule set of each kind on first start, once", async () => {
    const page: any = await node.broker.call("rules.list", { pageSize: 100 });
    expect(page.rows.map((r: any) => r.kind).sort()).toEqual(["ALLOCATION", "CHANNEL_SETTINGS", "DEBIT_TIME_POINTS", "FEE", "REMINDER", "SERVICING"]);
    expect(page.rows.every((r: any) => r.createdBy === "system" && r.version === 1)).toBe(true);
    node = await node.restart();
    expect(((await node.broker.call("rules.list", { pageSize: 100 })) as any).total).toBe(6);
  });

  it("creates, versions and audits a rule set, and announces each change", async () => {
    const created: any = await call("rules.create", {
      kind: "DEBIT_TIME_POINTS",
      name: "Consumer loans",
      scope: { bizType: "CONSUMER", productCode: "CL-12" },
      effectiveFrom: "2026-01-01",
      content: { times: ["18:00", "10:00", "14:00"] },
    });
    // Defaults filled in and time points sorted.
    expect(created).toMatchObject({ version: 1, createdBy: "olivia", content: { times: ["10:00", "14:00", "18:00"], misfireGraceMinutes: 30 } });
    const updated: any = await call("rules.update", { id: created.id, expectedVersion: 1, content: { times: ["12:00", "18:00"] } }, "alice");
    expect(updated).toMatchObject({ version: 2, updatedBy: "alice", content: { times: ["12:00", "18:00"] } });

    // A stale writer loses: compare-and-set on the version.
    await expect(call("rules.update", { id: created.id, expectedVersion: 1, name: "stale" })).rejects.toMatchObject({ code: 409, type: "VERSION_CONFLICT" });

    const history: any = await node.broker.call("rules.history", { id: created.id });
    expect(history.map((h: any) => [h.version, h.action, h.by])).toEqual([
      [2, "UPDATE", "alice"],
      [1, "CREATE", "olivia"],
    ]);
    expect(history[0].before.content.times).toEqual(["10:00", "14:00", "18:00"]);
    expect(history[0].after.content.times).toEqual(["12:00", "18:00"]);

    await new Promise((r) => setTimeout(r, 20));
    expect(events.map((e) => [e.ruleId, e.action, e.version])).toEqual([
      [created.id, "CREATE", 1],
      [created.id, "UPDATE", 2],
    ]);
    const audit: any = await node.broker.call("rules.audit", { kind: "DEBIT_TIME_POINTS" });
    expect(audit.rows.slice(0, 2).map((a: any) => [a.ruleId, a.action])).toEqual([
      [created.id, "UPDATE"],
      [created.id, "CREATE"],
    ]);
  });

  it("keeps a rule set's document small and its whole audit trail in ruleHistory, paged in the store", async () => {
    const created: any = await call("rules.create", { kind: "ALLOCATION", name: "busy", scope: { funderId: "F7" }, content: allocation });
    for (let v = 1; v <= 30; v++) await call("rules.update", { id: created.id, expectedVersion: v, name: `busy ${v}` });
    const svc: any = node.broker.getLocalService("rules");
    const doc = await svc.store.findById(created.id);
    expect(doc.history).toHaveLength(RULE_HISTORY_KEEP);
    expect(doc.history.at(-1)).toMatchObject({ version: 31, action: "UPDATE" });
    const history: any[] = await node.broker.call("rules.history", { id: created.id });
    expect(history.map((h) => h.version)).toEqual(Array.from({ length: 31 }, (_, i) => 31 - i));
    expect(history[0]).toEqual({ version: 31, action: "UPDATE", by: "olivia", at: expect.any(String), before: expect.objectContaining({ name: "busy 29" }), after: expect.objectContaining({ name: "busy 30" }) });
    const audit: any = await node.broker.call("rules.audit", { kind: "ALLOCATION", pageSize: 5, page: 2 });
    expect(audit).toMatchObject({ total: 32, page: 2, pageSize: 5, totalPages: 7 }); // 31 changes + the seeded default
    expect(audit.rows.map((a: any) => [a.ruleId, a.version])).toEqual([26, 25, 24, 23, 22].map((v) => [created.id, v]));
    expect(audit.rows[0]).toMatchObject({ kind: "ALLOCATION", action: "UPDATE" });
    expect(audit.rows[0]).not.toHaveProperty("_id");
  });

  it("copies the trail of a rule set from before ruleHistory when the node starts", async () => {
    const svc: any = node.broker.getLocalService("rules");
    const created: any = await call("rules.create", { kind: "ALLOCATION", name: "old", scope: { funderId: "F8" }, content: allocation });
    // As an earlier release stored it: the whole trail in the document, nothing in ruleHistory.
    const trail = Array.from({ length: 25 }, (_, i) => ({ version: i + 1, action: i ? "UPDATE" : "CREATE", by: "legacy", at: `2025-01-01T00:00:${String(i).padStart(2, "0")}.000Z`, before: null, after: { name: `old ${i}` } }));
    await svc.store.updateOne({ _id: created.id }, { $set: { history: trail, version: 25 }, $unset: { historyCopied: true } });
    await svc.stores.ruleHistory.remove({ ruleId: created.id });
    node = await node.restart();
    expect(await (node.broker.getLocalService("rules") as any).stores.ruleHistory.count({ ruleId: created.id })).toBe(25);
    const history: any[] = await node.broker.call("rules.history", { id: created.id });
    expect(history.map((h) => h.version)).toEqual(Array.from({ length: 25 }, (_, i) => 25 - i));
    await call("rules.update", { id: created.id, expectedVersion: 25, name: "old, renamed" });
    const after = node.broker.getLocalService("rules") as any;
    expect(await after.stores.ruleHistory.count({ ruleId: created.id })).toBe(26);
    expect((await after.store.findById(created.id)).history).toHaveLength(RULE_HISTORY_KEEP);
  });

  it("lets exactly one of concurrent updates at the same version win", async () => {
    const created: any = await call("rules.create", { kind: "ALLOCATION", name: "a", scope: { funderId: "F9" }, content: allocation });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => call("rules.update", { id: created.id, expectedVersion: 1, name: `writer ${i}` })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rule: any = await node.broker.call("rules.get", { id: created.id });
    expect(rule.version).toBe(2);
    expect(((await node.broker.call("rules.history", { id: created.id })) as any[]).length).toBe(2);
  });

  it("resolves the most specific rule effective on a date", async () => {
    const funder: any = await call("rules.create", { kind: "FEE", name: "F1", scope: { funderId: "F1" }, effectiveFrom: "2026-01-01", content: { graceDays: 5, base: "INSTALLMENT", rateType: "ANNUAL", rate: "0.24" } });
    const later: any = await call("rules.create", { kind: "FEE", name: "F1 from July", scope: { funderId: "F1" }, effectiveFrom: "2026-07-01", content: { graceDays: 0, base: "INSTALLMENT", rateType: "ANNUAL", rate: "0.18" } });
    const product: any = await call("rules.create", { kind: "FEE", name: "F1 P1", scope: { funderId: "F1", productCode: "P1" }, effectiveFrom: "2026-03-01", content: { graceDays: 1, base: "OVERDUE_PRINCIPAL", rateType: "DAILY", rate: "0.0005" } });
    const at = (date: string, scope: any) => node.broker.call("rules.resolve", { kind: "FEE", date, ...scope }).then((r: any) => r?.id);
    expect(await at("2026-02-01", { funderId: "F1", productCode: "P1" })).toBe(funder.id);
    expect(await at("2026-03-01", { funderId: "F1", productCode: "P1" })).toBe(product.id);
    expect(await at("2026-08-01", { funderId: "F1", productCode: "P2" })).toBe(later.id);
    expect(await at("2026-08-01", { funderId: "F2" })).toBe("RS-default-fee");
    await call("rules.update", { id: product.id, expectedVersion: 1, enabled: false });
    expect(await at("2026-03-01", { funderId: "F1", productCode: "P1" })).toBe(funder.id);
  });

  it("refuses a second live rule set for the same kind, scope and date, until the first is deleted", async () => {
    const params = { kind: "ALLOCATION", name: "x", scope: { funderId: "F3" }, effectiveFrom: "2026-01-01", content: allocation };
    const first: any = await call("rules.create", params);
    await expect(call("rules.create", params)).rejects.toMatchObject({ code: 409, type: "DUPLICATE_KEY" });
    await call("rules.remove", { id: first.id });
    await expect(node.broker.call("rules.get", { id: first.id })).rejects.toMatchObject({ type: "NOT_FOUND" });
    const second: any = await call("rules.create", params);
    expect(second.id).not.toBe(first.id);
    const history: any = await node.broker.call("rules.history", { id: first.id });
    expect(history[0]).toMatchObject({ action: "DELETE", before: { deleted: false }, after: { deleted: true } });
  });

  it.each([
    ["DEBIT_TIME_POINTS", { times: ["25:00"] }],
    ["DEBIT_TIME_POINTS", { times: ["12:00", "12:00"] }],
    ["DEBIT_TIME_POINTS", { times: ["07:00"], window: { start: "08:00", end: "20:00" } }],
    ["DEBIT_TIME_POINTS", { times: [] }],
    ["FEE", { graceDays: 3, base: "INSTALLMENT", rateType: "DAILY", rate: 0.0005 }],
    ["FEE", { graceDays: -1, base: "INSTALLMENT", rateType: "DAILY", rate: "0.0005" }],
    ["FEE", { graceDays: 3, base: "WHATEVER", rateType: "DAILY", rate: "0.0005" }],
    ["FEE", { graceDays: 3, base: "INSTALLMENT", rateType: "DAILY", rate: "0.0005", surprise: true }],
    ["ALLOCATION", { order: ["PENALTY", "PENALTY", "INTEREST", "PRINCIPAL"] }],
    ["ALLOCATION", { order: ["PENALTY", "FEE", "INTEREST"] }],
    ["REMINDER", { rules: [{ trigger: "SOMETIME", template: "x" }] }],
    ["CHANNEL_SETTINGS", { channels: [{ code: "BANK_A" }, { code: "BANK_A" }] }],
    ["CHANNEL_SETTINGS", { channels: [{ code: "BANK_A", limits: { perTransaction: "-5" } }] }],
  ])("rejects invalid %s content %j with INVALID_RULE and writes nothing", async (kind, content) => {
    const before = ((await node.broker.call("rules.list", { includeDeleted: true })) as any).total;
    await expect(call("rules.create", { kind, name: "bad", scope: { funderId: "FB" }, content })).rejects.toMatchObject({ code: 422, type: "INVALID_RULE" });
    expect(((await node.broker.call("rules.list", { includeDeleted: true })) as any).total).toBe(before);
    expect(events).toHaveLength(0);
  });

  it("rejects bad parameters before any rule logic", async () => {
    await expect(call("rules.create", { kind: "NOPE", name: "x", content: {} })).rejects.toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
    await expect(call("rules.create", { kind: "FEE", name: "x", content: {}, effectiveFrom: "2026-02-30" })).rejects.toMatchObject({ code: 422 });
    await expect(call("rules.update", { id: "RS-default-fee", expectedVersion: 0 })).rejects.toMatchObject({ type: "VALIDATION_ERROR" });
    await expect(call("rules.get", { id: "../etc" })).rejects.toMatchObject({ type: "VALIDATION_ERROR" });
  });
});
