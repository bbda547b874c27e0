/**
 * Binding confirm (pure): one bank answer per channel applied to a binding's agreements.
 * A wrong or expired code (DECLINED "OTHER") counts an attempt and leaves the agreement PENDING
 * until `maxAttempts`; any other decline fails it. The binding is ACTIVE once any agreement is,
 * PENDING while any can still be confirmed, FAILED otherwise.
 */
import type { Agreement, BindingStatus } from "../contracts/sign-bind.contract";
import type { SignDone, SignFailure } from "../channels/channel";

export function applyConfirm(agreements: Agreement[], answers: Record<string, { res: SignDone | SignFailure; codeHash: string }>, maxAttempts: number, now: string): { agreements: Agreement[]; status: BindingStatus } {
  const next = agreements.map((a): Agreement => {
    const ans = answers[a.channel];
    if (!ans || a.status !== "PENDING") return a;
    const { res } = ans;
    if (res.status === "SIGNED") return { ...a, status: "ACTIVE", agreementNo: res.agreementNo, codeHash: ans.codeHash, updatedAt: now };
    if (res.status === "UNAVAILABLE") return a;
    const failure = { reason: res.reason, bankCode: res.bankCode, message: res.message };
    if (res.reason === "OTHER") {
      const attempts = (a.attempts ?? 0) + 1;
      return { ...a, attempts, failure, status: attempts >= maxAttempts ? "FAILED" : "PENDING", updatedAt: now };
    }
    return { ...a, failure, status: "FAILED", updatedAt: now };
  });
  const status: BindingStatus = next.some((a) => a.status === "ACTIVE") ? "ACTIVE" : next.some((a) => a.status === "PENDING") ? "PENDING" : "FAILED";
  return { agreements: next, status };
}
