import { alertEventType, alertId, alertSubject, alertTransition, newAlert, uncollectable, ALERT_KINDS } from "../../../domain/alerts";
import { EVENT_TYPES } from "../../../contracts/events.contract";

const AT = "2026-02-15T12:00:00.000+08:00";

describe("alerts: one record per kind and subject", () => {
  it("names the subject by the kind's fields, and the id by kind and subject", () => {
    expect(alertSubject({ kind: "LOW_POSITION", message: "", data: { channel: "BANK_A", available: "10.00" } })).toBe("BANK_A");
    expect(alertSubject({ kind: "UNCOLLECTABLE", message: "", data: { planId: "PL1", period: 3 } })).toBe("PL1:3");
    expect(alertSubject({ kind: "RECONCILIATION_UNRESOLVED", message: "", data: {} })).toBe("-");
    expect(alertSubject({ kind: "LOW_POSITION", message: "", subject: "X", data: { channel: "BANK_A" } })).toBe("X");
    expect(alertId("LOW_POSITION", "BANK_A")).toBe(alertId("LOW_POSITION", "BANK_A"));
    expect(alertId("LOW_POSITION", "BANK_A")).not.toBe(alertId("LOW_POSITION", "BANK_B"));
    expect(alertId("LOW_POSITION", "BANK_A")).not.toBe(alertId("BREAKER_OPENED", "BANK_A"));
    expect(alertId("LOW_POSITION", "BANK_A")).toMatch(/^AL[0-9a-f]{24}$/);
  });

  it("publishes every kind as an event type webhooks accept", () => {
    for (const k of ALERT_KINDS) expect(EVENT_TYPES).toContain(alertEventType(k));
    expect(EVENT_TYPES).toContain("alert.resolved");
  });

  it("acknowledges an open alert, resolves an open or acknowledged one, and repeats are no-ops", () => {
    const a = newAlert({ kind: "LOW_POSITION", message: "low", data: { channel: "BANK_A" } }, AT);
    expect(a).toMatchObject({ status: "OPEN", count: 1, subject: "BANK_A", history: [{ action: "RAISED" }] });
    const ack = alertTransition(a, "ACKNOWLEDGE", "ops-1", AT, "topping up");
    expect(ack).toMatchObject({ changed: true, set: { status: "ACKNOWLEDGED", acknowledgedBy: "ops-1" }, entry: { action: "ACKNOWLEDGED", by: "ops-1", note: "topping up" } });
    const acked = { ...a, status: "ACKNOWLEDGED" as const };
    expect(alertTransition(acked, "ACKNOWLEDGE", "ops-2", AT)).toEqual({ changed: false });
    expect(alertTransition(acked, "RESOLVE", "ops-2", AT)).toMatchObject({ changed: true, set: { status: "RESOLVED", resolvedBy: "ops-2" } });
    expect(alertTransition(a, "RESOLVE", "ops-2", AT)).toMatchObject({ changed: true });
    const resolved = { ...a, status: "RESOLVED" as const };
    expect(alertTransition(resolved, "RESOLVE", "ops-2", AT)).toEqual({ changed: false });
    expect(alertTransition(resolved, "ACKNOWLEDGE", "ops-2", AT)).toMatchObject({ changed: false, error: expect.stringContaining("resolved") });
  });

  it("calls an installment uncollectable only for lasting refusals", () => {
    expect(uncollectable({ result: "NO_BINDING", sent: 0 })).toBe("NO_BINDING");
    expect(uncollectable({ result: "NO_CHANNEL", sent: 0, rejected: [{ code: "BANK_A", reason: "OVER_PER_TRANSACTION_LIMIT" }, { code: "BANK_B", reason: "NO_AGREEMENT" }] })).toBe("OVER_PER_TRANSACTION_LIMIT,NO_AGREEMENT");
    expect(uncollectable({ result: "NO_CHANNEL", sent: 0, rejected: [] })).toBe("NO_CHANNEL");
    // Caps, breakers and daily limits pass by themselves.
    expect(uncollectable({ result: "NO_CHANNEL", sent: 0, rejected: [{ code: "BANK_A", reason: "OVER_PER_TRANSACTION_LIMIT" }, { code: "BANK_B", reason: "BREAKER_OPEN" }] })).toBeNull();
    expect(uncollectable({ result: "NO_CHANNEL", sent: 0, rejected: [{ code: "BANK_A", reason: "CARD_DAILY_ATTEMPT_CAP" }] })).toBeNull();
    expect(uncollectable({ result: "NO_CHANNEL", sent: 1, rejected: [] })).toBeNull();
    expect(uncollectable({ result: "FAILED", sent: 1 })).toBeNull();
    expect(uncollectable({ result: "SUCCEEDED", sent: 1 })).toBeNull();
  });
});
