import { applyConfirm } from "../../../domain/binding-confirm";
import type { Agreement } from "../../../contracts/sign-bind.contract";

const pending = (channel: string, attempts?: number): Agreement => ({ channel, status: "PENDING", signRequestId: "S-" + channel, updatedAt: "t0", ...(attempts ? { attempts } : {}) });
const wrong = { res: { status: "DECLINED" as const, reason: "OTHER" as const, bankCode: "1008", message: "wrong code" }, codeHash: "h1" };
const signed = { res: { status: "SIGNED" as const, agreementNo: "AG1" }, codeHash: "h2" };

describe("applyConfirm", () => {
  it("a wrong code leaves the agreement PENDING with an attempt counted", () => {
    const r = applyConfirm([pending("BANK_A")], { BANK_A: wrong }, 5, "t1");
    expect(r.status).toBe("PENDING");
    expect(r.agreements[0]).toMatchObject({ status: "PENDING", attempts: 1 });
  });
  it("the limit fails the agreement, and the binding when none is left", () => {
    const r = applyConfirm([pending("BANK_A", 4)], { BANK_A: wrong }, 5, "t1");
    expect(r.agreements[0]).toMatchObject({ status: "FAILED", attempts: 5 });
    expect(r.status).toBe("FAILED");
  });
  it("the binding stays PENDING while another agreement can be confirmed", () => {
    const r = applyConfirm([pending("BANK_A", 4), pending("BANK_B")], { BANK_A: wrong }, 5, "t1");
    expect(r.status).toBe("PENDING");
  });
  it("the right code after a wrong one signs", () => {
    const r = applyConfirm([pending("BANK_A", 2)], { BANK_A: signed }, 5, "t1");
    expect(r.status).toBe("ACTIVE");
    expect(r.agreements[0]).toMatchObject({ status: "ACTIVE", agreementNo: "AG1", codeHash: "h2" });
  });
  it("a non-code decline fails at once; an agreement no longer pending is not touched", () => {
    const frozen = { res: { status: "DECLINED" as const, reason: "CARD_FROZEN" as const, bankCode: "x", message: "frozen" }, codeHash: "h" };
    expect(applyConfirm([pending("BANK_A")], { BANK_A: frozen }, 5, "t1").status).toBe("FAILED");
    const active: Agreement = { channel: "BANK_A", status: "ACTIVE", agreementNo: "AG0", updatedAt: "t0" };
    expect(applyConfirm([active], { BANK_A: wrong }, 5, "t1").agreements[0]).toBe(active);
  });
});
