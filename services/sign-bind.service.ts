/**
 * sign-bind — owns bindings: a borrower's card with one agreement per payment channel (签约绑卡).
 * apply → the channel sends an SMS code → confirm → agreement. A card may hold agreements with
 * several channels: that is what lets a debit switch channels.
 *
 * Card, ID and mobile numbers are encrypted at rest (AES-256-GCM, REPAYMESH_DATA_KEY) and masked
 * everywhere else; they are never logged. Simulated channels return the SMS code in `testCodes`
 * so a demo or a test can confirm; a real channel never does.
 */
import crypto from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import type { Config } from "../config";
import { loadDataKey } from "../mixins/data-key";
import { OUTBOX_INDEX, OutboxMixin } from "../mixins/messaging/outbox.mixin";
import { DomainError } from "../domain/errors";
import { decrypt, encrypt, fingerprint, maskCard, maskIdNo } from "../domain/card";
import { maskMobile } from "../domain/auth";
import type { Page } from "../contracts/common";
import {
  bindingIdParams,
  confirmBindingParams,
  createBindingParams,
  listBindingsParams,
  type Agreement,
  type Binding,
  type BindingIdParams,
  type BindingSignedEvent,
  type ConfirmBindingParams,
  type CreateBindingParams,
  type ListBindingsParams,
} from "../contracts/sign-bind.contract";
import type { PaymentChannel, SignDone, SignFailure } from "../channels/channel";
import { applyConfirm } from "../domain/binding-confirm";
import { findPage, StoreMixin } from "../mixins/store.mixin";
import { ClockMixin } from "../mixins/clock.mixin";
import { ChannelsMixin } from "../mixins/channels.mixin";

export type BindingView = Omit<Binding, "_id" | "cardEnc" | "idNoEnc" | "mobileEnc" | "liveKey" | "cardFingerprint"> & { bindingId: string };

export function bindingView(b: Binding): BindingView {
  const { _id, cardEnc: _c, agreements: ags, idNoEnc: _i, mobileEnc: _m, liveKey: _l, cardFingerprint: _f, outbox: _o, ...rest } = b as Binding & { outbox?: unknown };
  return { bindingId: _id, ...rest, agreements: ags.map(({ codeHash: _h, ...a }) => a) } as BindingView;
}

export default function signBindService(cfg: Config): ServiceSchema {
  return {
    name: "sign-bind",
    mixins: [
      StoreMixin(
        {
          collection: "bindings",
          // GET /bindings newest first: MongoDB only.
          indexes: [{ field: "customerId" }, { field: "liveKey", unique: true, sparse: true }, OUTBOX_INDEX, { fields: { createdAt: -1, _id: 1 } }],
        },
        cfg,
      ),
      ClockMixin(cfg.timeZone),
      ChannelsMixin(cfg),
      OutboxMixin({ collections: ["bindings"], flushMs: cfg.outboxFlushMs, sweepMs: cfg.outboxSweepMs }),
    ],
    settings: { rest: "/" },
    actions: {
      create: {
        rest: "POST /bindings",
        params: createBindingParams,
        doc: { summary: "Bind a card: each channel sends an SMS code (simulated banks return it in testCodes)", tags: ["bindings"] },
        async handler(this: any, ctx: Context<CreateBindingParams>) {
          const p = ctx.params;
          for (const code of p.channels) {
            const ch: PaymentChannel | undefined = this.channels.get(code);
            if (!ch || !ch.capabilities.includes("SIGN")) throw new DomainError("VALIDATION_ERROR", `Channel ${code} cannot sign agreements`, { field: "channels", channel: code });
          }
          const fp = fingerprint(p.cardNo, this.dataKey);
          const liveKey = `${p.customerId}:${fp}`;
          const live: Binding | null = await this.store.findOne({ liveKey });
          if (live) {
            throw new DomainError("BINDING_STATE", `This card already has a ${live.status} binding for the customer`, { bindingId: live._id, status: live.status });
          }
          const now = this.clock.iso();
          const binding: Binding = {
            _id: "BD" + crypto.randomBytes(10).toString("hex").toUpperCase(),
            customerId: p.customerId,
            holderName: p.name,
            cardMasked: maskCard(p.cardNo),
            cardFingerprint: fp,
            cardEnc: encrypt(p.cardNo, this.dataKey),
            idNoEnc: encrypt(p.idNo, this.dataKey),
            mobileEnc: encrypt(p.mobile, this.dataKey),
            idNoMasked: maskIdNo(p.idNo),
            mobileMasked: maskMobile(p.mobile),
            liveKey,
            status: "PENDING",
            agreements: p.channels.map((channel) => ({ channel, status: "PENDING", updatedAt: now })),
            version: 1,
            createdAt: now,
            updatedAt: now,
          };
          try {
            await this.store.insert(binding);
          } catch (err: any) {
            if (err?.code === "DUPLICATE_KEY") throw new DomainError("BINDING_STATE", "This card is being bound for the customer already", {});
            throw err;
          }
          // Ask each channel for a code; the binding is stored first, so a crash leaves a PENDING binding, never an orphan agreement.
          const testCodes: Record<string, string> = {};
          const agreements: Agreement[] = [];
          for (const a of binding.agreements) {
            const ch: PaymentChannel = this.channels.get(a.channel);
            const res = await ch.startSign(`${binding._id}-${a.channel}`, { cardNo: p.cardNo, name: p.name, idNo: p.idNo, mobile: p.mobile });
            if (res.status === "CODE_SENT") {
              agreements.push({ ...a, signRequestId: res.signRequestId, updatedAt: this.clock.iso() });
              if (res.testCode) testCodes[a.channel] = res.testCode;
            } else {
              agreements.push({ ...a, status: "FAILED", failure: { reason: res.status === "DECLINED" ? res.reason : "UNAVAILABLE", bankCode: res.bankCode, message: res.message }, updatedAt: this.clock.iso() });
            }
          }
          const anyPending = agreements.some((a) => a.status === "PENDING");
          const saved = await this.save(binding, { agreements, status: anyPending ? "PENDING" : "FAILED", ...(anyPending ? {} : { liveKey: undefined }) });
          return { ...bindingView(saved), ...(Object.keys(testCodes).length ? { testCodes } : {}) };
        },
      },
      confirm: {
        rest: "POST /bindings/:bindingId/confirm",
        params: confirmBindingParams,
        doc: { summary: "Confirm the SMS codes: one agreement per channel", tags: ["bindings"] },
        async handler(this: any, ctx: Context<ConfirmBindingParams>) {
          const binding: Binding = await this.load(ctx.params.bindingId);
          if (binding.status === "UNBOUND" || binding.status === "FAILED") {
            throw new DomainError("BINDING_STATE", `Binding ${binding._id} is ${binding.status}`, { status: binding.status });
          }
          const codes = ctx.params.codes;
          const unknown = Object.keys(codes).filter((c) => !binding.agreements.some((a) => a.channel === c));
          if (unknown.length) throw new DomainError("VALIDATION_ERROR", `No agreement for ${unknown.join(", ")}`, { field: "codes", channels: unknown });
          const hashOf = (code: string) => fingerprint(code, this.dataKey);
          const answers: Record<string, { res: SignDone | SignFailure; codeHash: string }> = {};
          for (const a of binding.agreements) {
            const code = codes[a.channel];
            if (code === undefined || a.status !== "PENDING" || !a.signRequestId) continue;
            answers[a.channel] = { res: await (this.channels.get(a.channel) as PaymentChannel).confirmSign(a.signRequestId, code), codeHash: hashOf(code) };
          }
          // Compare-and-set; on a conflict the answers are applied again to what the other node wrote, so every attempt counts and a signing is written once.
          for (let cur = binding; ; cur = await this.load(binding._id)) {
            const done = Object.keys(codes).filter((c) => cur.agreements.some((a) => a.channel === c && a.status !== "PENDING"));
            if (done.length && done.length === Object.keys(codes).length && done.every((c) => cur.agreements.some((a) => a.channel === c && a.status === "ACTIVE" && a.codeHash === hashOf(codes[c])))) {
              return { ...bindingView(cur), replayed: true };
            }
            const stale = done.filter((c) => !answers[c] || cur.agreements.some((a) => a.channel === c && a.status !== "ACTIVE"));
            if (stale.length && !Object.keys(answers).length) throw new DomainError("BINDING_STATE", `Agreements ${stale.join(", ")} are no longer pending`, { channels: stale, status: cur.status });
            const next = applyConfirm(cur.agreements, answers, cfg.signConfirmMaxAttempts, this.clock.iso());
            const signed = next.status === "ACTIVE" && cur.status !== "ACTIVE";
            const event: BindingSignedEvent = { bindingId: cur._id, customerId: cur.customerId, channels: next.agreements.filter((a) => a.status === "ACTIVE").map((a) => a.channel) };
            let saved: Binding;
            try {
              saved = await this.save(cur, { agreements: next.agreements, status: next.status, ...(next.status === "FAILED" ? { liveKey: undefined } : {}) }, signed ? [["binding.signed", event as unknown as Record<string, unknown>]] : []);
            } catch (err: any) {
              if (err?.code === "VERSION_CONFLICT" || err?.type === "VERSION_CONFLICT") continue;
              throw err;
            }
            if (next.status === "FAILED") throw new DomainError("SIGN_FAILED", "No channel accepted the code", { agreements: next.agreements.map((a) => ({ channel: a.channel, status: a.status, failure: a.failure })) });
            return bindingView(saved);
          }
        },
      },
      unbind: {
        rest: "DELETE /bindings/:bindingId",
        params: bindingIdParams,
        doc: { summary: "Unbind a card: its agreements end; debits stop using it", tags: ["bindings"] },
        async handler(this: any, ctx: Context<BindingIdParams>) {
          const binding: Binding = await this.load(ctx.params.bindingId);
          if (binding.status === "UNBOUND") return bindingView(binding);
          const now = this.clock.iso();
          const agreements = binding.agreements.map((a) => (a.status === "ACTIVE" || a.status === "PENDING" ? { ...a, status: "TERMINATED" as const, updatedAt: now } : a));
          const saved = await this.save(binding, { agreements, status: "UNBOUND", liveKey: undefined }, [["binding.unbound", { bindingId: binding._id, customerId: binding.customerId }]]);
          return bindingView(saved);
        },
      },
      get: {
        rest: "GET /bindings/:bindingId",
        params: bindingIdParams,
        doc: { summary: "A binding (card masked) with its agreements", tags: ["bindings"] },
        async handler(this: any, ctx: Context<BindingIdParams>) {
          return bindingView(await this.load(ctx.params.bindingId));
        },
      },
      list: {
        rest: "GET /bindings",
        params: listBindingsParams,
        doc: { summary: "Bindings, e.g. a customer's", tags: ["bindings"] },
        async handler(this: any, ctx: Context<ListBindingsParams>): Promise<Page<BindingView>> {
          const q: Record<string, unknown> = {};
          if (ctx.params.customerId) q.customerId = ctx.params.customerId;
          if (ctx.params.status) q.status = ctx.params.status;
          return findPage(this.store, q, ctx.params, { createdAt: -1, _id: 1 }, bindingView);
        },
      },
      /** Internal: the active agreements usable for a plan's debit (its binding, or the customer's newest active one). */
      agreements: {
        visibility: "public",
        params: { $$strict: true, bindingId: { type: "string", optional: true, max: 64 }, customerId: { type: "string", optional: true, max: 64 } },
        async handler(this: any, ctx: Context<{ bindingId?: string; customerId?: string }>) {
          let binding: Binding | null = null;
          if (ctx.params.bindingId) binding = await this.store.findById(ctx.params.bindingId);
          if ((!binding || binding.status !== "ACTIVE") && ctx.params.customerId) {
            const rows: Binding[] = await this.store.find({ customerId: ctx.params.customerId, status: "ACTIVE" }, { sort: { createdAt: -1 }, limit: 1 });
            binding = rows[0] ?? null;
          }
          if (!binding || binding.status !== "ACTIVE") return null;
          return {
            bindingId: binding._id,
            cardFingerprint: binding.cardFingerprint,
            agreements: binding.agreements.filter((a) => a.status === "ACTIVE").map((a) => ({ channel: a.channel, agreementNo: a.agreementNo as string })),
          };
        },
      },
    },
    methods: {
      async load(this: any, id: string): Promise<Binding> {
        const b: Binding | null = await this.store.findById(id);
        if (!b) throw new DomainError("NOT_FOUND", `Binding ${id} not found`, { bindingId: id });
        return b;
      },
      /** Compare-and-set on version; `liveKey: undefined` removes the live key. */
      /** Compare-and-set on version; `events` go into the binding in the same write (the outbox). */
      async save(this: any, binding: Binding, patch: Partial<Binding>, events: Array<[string, Record<string, unknown>]> = []): Promise<Binding> {
        const set: Record<string, unknown> = { updatedAt: this.clock.iso(), version: binding.version + 1 };
        const unset: Record<string, true> = {};
        for (const [k, v] of Object.entries(patch)) {
          if (v === undefined) unset[k] = true;
          else set[k] = v;
        }
        const update: Record<string, unknown> = { $set: set };
        if (Object.keys(unset).length) update.$unset = unset;
        if (events.length) update.$push = { outbox: { $each: events.map(([type, data]) => this.outboxEntry(type, binding._id, data)) } };
        const saved: Binding | null = await this.store.updateOne({ _id: binding._id, version: binding.version }, update);
        if (!saved) throw new DomainError("VERSION_CONFLICT", `Binding ${binding._id} changed concurrently; try again`, { bindingId: binding._id });
        if (events.length) this.outboxWritten("bindings", binding._id, saved);
        return saved;
      },
      /** Decrypt a binding's card number for a channel call (never returned, never logged). */
      cardNoOf(this: any, binding: Binding): string {
        return decrypt(binding.cardEnc, this.dataKey);
      },
    },
    created(this: any) {
      this.dataKey = loadDataKey(cfg, (m) => this.logger.warn(m));
    },
  } as ServiceSchema;
}
