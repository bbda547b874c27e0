/*
 * Plans: filterable paged list and plan detail — status, pause, pending settlement and owners; the
 * installment table with its overdue-fee columns and the plan's trades; the servicing actions (offline
 * repayment, waiver, fees pause, reschedule, prepayment, settlement, pause/resume; role ops), and the
 * History tab (structure revisions and the audit trail of manual operations).
 *
 * Every manual operation carries a number made when its form is drawn (RM.opNo), so a double submit
 * or a retry after a network error replays the first result instead of applying twice.
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;
  const S = RM.schedule;
  const m = RM.money;

  function planLink(id, cls) {
    return RM.link("#/plans/" + encodeURIComponent(id), id, cls || "mono small");
  }

  const FILTERS = [
    { name: "funderId", label: "Funder" },
    { name: "productCode", label: "Product" },
    { name: "bizType", label: "Business type", type: "select", options: S.BIZ_TYPES, emptyLabel: "any" },
    { name: "customerId", label: "Customer id" },
    { name: "status", label: "Status", type: "select", options: ["ACTIVE", "SETTLED", "PAUSED", "CANCELLED"], emptyLabel: "any" },
    { name: "partition", label: "Partition", type: "int", min: 0 },
    { name: "source", label: "Source" },
  ];

  const COLUMNS = [
    { label: "Plan", get: (p) => planLink(p.planId) },
    { label: "Order", get: (p) => RM.link(RM.orderHref(p), p.source + " / " + p.orderNo, "small"), cls: "nowrap" },
    { label: "Funder / product", get: (p) => h("div", null, p.funderId, h("div", { class: "muted small" }, p.productCode + " · " + p.bizType)) },
    { label: "Customer", get: (p) => p.customerId },
    { label: "Part.", get: (p) => String(p.partition), num: true },
    { label: "Method", get: (p) => h("div", null, h("span", { class: "small" }, p.repaymentMethod || "—"), h("div", { class: "muted small" }, (p.installmentCount !== undefined ? p.installmentCount : p.term) + " installments")) },
    { label: "Principal", get: (p) => m(p.totals && p.totals.principal), num: true },
    { label: "Total", get: (p) => h("div", null, m(p.totals && p.totals.total), h("div", { class: "muted small" }, "interest " + m(p.totals && p.totals.interest))), num: true },
    {
      label: "Next due",
      get: (p) => {
        if (!p.nextDueDate) return "—";
        const late = RM.clock && p.status === "ACTIVE" && p.nextDueDate < RM.clock.businessDate;
        return h("div", { class: late ? "late" : undefined, title: late ? "Fell due before the business date and is not paid" : undefined }, p.nextDueDate, h("div", { class: "muted small" }, m(p.nextDueAmount)));
      },
      cls: "nowrap",
    },
    { label: "Status", get: (p) => RM.badge(p.status) },
  ];

  RM.route(
    "/plans",
    async (el, _params, query) => {
      RM.append(el, h("div", { class: "page-head" }, h("h1", null, "Repayment plans")));
      await RM.listPage(el, { api: "/plans", hashPath: "/plans", filters: FILTERS, columns: COLUMNS, empty: "No plans match these filters" }, query);
    },
    "plans",
  );

  // ------------------------------------------------------------------ helpers

  function planPath(id) {
    return "/plans/" + encodeURIComponent(id);
  }

  function isZero(s) {
    return s === undefined || s === null || s === "" || RM.decCmp(s, "0") === 0;
  }

  /** a − b on decimal strings, exactly (display only). */
  function decSub(a, b) {
    const nb = String(b === undefined || b === null || b === "" ? "0" : b);
    return RM.decSum([a === undefined || a === null || a === "" ? "0" : a, nb.startsWith("-") ? nb.slice(1) : "-" + nb]);
  }

  const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

  /** window.prompt until the answer is valid; null when cancelled. */
  function ask(question, check, initial) {
    let value = initial || "";
    let problem = null;
    for (;;) {
      const r = window.prompt(problem ? problem + "\n\n" + question : question, value);
      if (r === null) return null;
      value = r.trim();
      problem = check(value);
      if (!problem) return value;
    }
  }

  function askReason(question) {
    return ask(question, (v) => (v.length < 2 || v.length > 200 ? "A reason of 2-200 characters is needed." : null));
  }

  /** Pause a plan's debits: reason and an optional last paused date, by prompt (list and detail). */
  async function pausePlan(planId, button, after) {
    const reason = askReason("Pause debits of plan " + planId + ".\n\nReason (2-200 characters):");
    if (reason === null) return;
    const until = ask("Pause until (the last paused business date, YYYY-MM-DD).\nLeave empty to pause until resumed by hand:", (v) => (v && !DATE_RE.test(v) ? "Not a date like 2026-03-31." : null));
    if (until === null) return;
    const body = { reason };
    if (until) body.until = until;
    await RM.busy(button, async () => {
      try {
        await RM.api("POST", planPath(planId) + "/pause", { body });
        RM.flash("Plan " + planId + " paused" + (until ? " until " + until : " until resumed") + ".");
        after();
      } catch (err) {
        RM.showError(err);
      }
    });
  }

  async function resumePlan(planId, button, after) {
    const reason = askReason("Resume debits of plan " + planId + ".\n\nReason (2-200 characters):");
    if (reason === null) return;
    await RM.busy(button, async () => {
      try {
        await RM.api("POST", planPath(planId) + "/resume", { body: { reason } });
        RM.flash("Plan " + planId + " resumed.");
        after();
      } catch (err) {
        RM.showError(err);
      }
    });
  }

  /** The quick Pause / Resume button of a plan (null when neither applies). */
  function pauseButton(planId, status, after, small) {
    if (status !== "ACTIVE" && status !== "PAUSED") return null;
    const paused = status === "PAUSED";
    const btn = RM.guard(h("button", { type: "button", class: "btn" + (small ? " btn-small" : "") + (paused ? "" : " btn-danger") }, paused ? "Resume" : "Pause"), "ops");
    btn.addEventListener("click", () => (paused ? resumePlan(planId, btn, after) : pausePlan(planId, btn, after)));
    return btn;
  }

  function agingBadge(aging) {
    return aging ? RM.badge(aging, "aging") : "—";
  }

  // ------------------------------------------------------------------ installments

  function waivedCell(r) {
    const wp = !isZero(r.waivedPenalty);
    const wf = !isZero(r.waivedFee);
    if (!wp && !wf) return "—";
    return h("div", { class: "small" }, wp ? h("div", { class: "nowrap" }, "pen. " + m(r.waivedPenalty)) : null, wf ? h("div", { class: "nowrap" }, "fee " + m(r.waivedFee)) : null);
  }

  function statusCell(r) {
    return h(
      "div",
      null,
      h("div", { class: "nowrap" }, RM.badge(r.status)),
      r.feesPaused || r.waived || r.settled
        ? h("div", { class: "nowrap" }, r.feesPaused ? RM.badge("FEES PAUSED", "warn") : null, r.waived ? RM.badge("WAIVED", "muted") : null, r.settled ? RM.badge("SETTLED") : null)
        : null,
      r.accruedThrough ? h("div", { class: "muted small nowrap", title: "Overdue fees accrued through this business date" }, "accrued " + r.accruedThrough) : null,
    );
  }

  /** The installment table with the overdue-fee columns (also used by the order detail). */
  function installmentsTable(plan) {
    const rows = plan.installments || [];
    const sum = (k) => RM.decSum(rows.map((r) => r[k]));
    const today = RM.clock && RM.clock.businessDate;
    const cols = [
      { label: "#", get: (r) => String(r.period), num: true, foot: "" },
      { label: "Due date", get: (r) => r.dueDate, cls: "nowrap", foot: "Total" },
      { label: "Principal", get: (r) => m(r.principal), num: true, foot: m(sum("principal")) },
      { label: "Interest", get: (r) => m(r.interest), num: true, foot: m(sum("interest")) },
      { label: "Fee", get: (r) => m(r.fee), num: true, foot: m(sum("fee")) },
      { label: "of it late fee", get: (r) => (isZero(r.lateFee) ? "—" : m(r.lateFee)), num: true, foot: m(sum("lateFee")) },
      { label: "Penalty", get: (r) => m(r.penalty), num: true, foot: m(sum("penalty")) },
      { label: "Total", get: (r) => h("strong", null, m(r.total)), num: true, foot: h("strong", null, m(sum("total"))) },
      { label: "Paid", get: (r) => m(r.paidTotal), num: true, foot: m(sum("paidTotal")) },
      { label: "Outstanding", get: (r) => m(r.outstanding), num: true, foot: m(sum("outstanding")) },
      { label: "Days o/d", get: (r) => (r.daysOverdue ? h("span", { class: "late" }, String(r.daysOverdue)) : "—"), num: true, foot: "" },
      { label: "Aging", get: (r) => agingBadge(r.aging), foot: "" },
      { label: "Waived", get: waivedCell, foot: h("div", { class: "small" }, "pen. " + m(sum("waivedPenalty")), h("div", null, "fee " + m(sum("waivedFee")))) },
      { label: "Status", get: statusCell, foot: "" },
    ];
    return RM.table(cols, rows, {
      empty: "No installments",
      rowClass: (r) => (r.status === "OVERDUE" ? "row-overdue" : r.status === "PAID" ? "row-paid" : today && r.dueDate === today ? "row-due" : undefined),
      footer: cols.map((c) => c.foot),
    });
  }

  /** A plain installment table of a past revision. */
  function revisionTable(rows) {
    const cols = [
      { label: "#", get: (r) => String(r.period), num: true },
      { label: "Due date", get: (r) => r.dueDate, cls: "nowrap" },
      { label: "Principal", get: (r) => m(r.principal), num: true },
      { label: "Interest", get: (r) => m(r.interest), num: true },
      { label: "Fee", get: (r) => m(r.fee), num: true },
      { label: "Penalty", get: (r) => m(r.penalty), num: true },
      { label: "Total", get: (r) => m(r.total), num: true },
      { label: "Paid", get: (r) => m(r.paidTotal), num: true },
      { label: "Outstanding", get: (r) => m(r.outstanding), num: true },
      { label: "Status", get: (r) => RM.badge(r.status) },
    ];
    const sum = (k) => m(RM.decSum((rows || []).map((r) => r[k])));
    return RM.table(cols, rows || [], { empty: "No installments", footer: ["", "Total", sum("principal"), sum("interest"), sum("fee"), sum("penalty"), sum("total"), sum("paidTotal"), sum("outstanding"), ""] });
  }

  function ownersTable(p) {
    const owners = p.owners && p.owners.length ? p.owners : [{ funderId: p.funderId, from: p.terms && p.terms.startDate }];
    const today = RM.schedule.today();
    let current = -1;
    owners.forEach((o, i) => {
      if (!o.from || o.from <= today) current = i;
    });
    return RM.table(
      [
        { label: "Funder", get: (o) => h("strong", null, o.funderId) },
        { label: "From", get: (o) => o.from || "start", cls: "nowrap" },
        { label: "Transfer", get: (o) => (o.transferNo ? RM.link("#/transfers/" + encodeURIComponent(o.transferNo), o.transferNo, "mono small") : h("span", { class: "muted small" }, "original")) },
        { label: "Price ratio", get: (o) => o.priceRatio || "—", num: true },
        { label: "", get: (o) => (owners.indexOf(o) === current ? RM.badge("CURRENT", "ok") : o.from && o.from > today ? RM.badge("SCHEDULED") : "") },
      ],
      owners,
    );
  }

  // ------------------------------------------------------------------ action forms

  /**
   * A form of one manual operation: reads and checks the fields, asks for confirmation, sends, and
   * re-renders on success (a fresh form, a fresh number). Errors: banner + next to the fields.
   */
  function opForm(cfg) {
    const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, cfg.submitLabel), cfg.need || "ops");
    const form = h(
      "form",
      {
        class: "form",
        novalidate: true,
        autocomplete: "off",
        onsubmit: async (e) => {
          e.preventDefault();
          const v = RM.readFields(form, cfg.defs);
          if (!v) return;
          const problems = cfg.validate ? cfg.validate(v) : null;
          if (problems && problems.length) {
            RM.showFieldErrors(form, problems);
            return;
          }
          const question = cfg.confirm ? cfg.confirm(v) : null;
          if (question && !window.confirm(question)) return;
          await RM.busy(submit, async () => {
            try {
              const res = await cfg.send(v);
              RM.flash(cfg.done(res || {}, v) + (res && res.replayed ? " (Replayed: this number was already applied; nothing was applied twice.)" : ""));
              RM.render();
            } catch (err) {
              RM.formError(form, err);
              if (cfg.onError) cfg.onError(err);
            }
          });
        },
      },
      RM.fieldGrid(cfg.defs, cfg.values || {}),
      cfg.extra || null,
      h("ul", { class: "form-errors" }),
      h("div", { class: "form-actions" }, cfg.before || null, submit, cfg.note ? h("span", { class: "muted small" }, cfg.note) : null),
    );
    form.submitButton = submit;
    return form;
  }

  function card(title, intro, body) {
    return h("section", { class: "card action-card" }, h("h2", null, title), intro ? h("p", { class: "muted small" }, intro) : null, body);
  }

  function inputOf(form, name) {
    return form.querySelector("[name='" + name + "']");
  }

  function showField(form, name, shown) {
    const f = form.querySelector(".field[data-name='" + name + "']");
    if (f) f.hidden = !shown;
    if (!shown) {
      const i = inputOf(form, name);
      if (i && i.type !== "checkbox") i.value = "";
    }
  }

  const NO_HINT = "Operation number (idempotency key): made when this form opened; the same number again replays the first result";

  function periodLabel(r) {
    const unpaidPen = decSub(r.penalty, r.paidPenalty);
    const parts = ["#" + r.period, "due " + r.dueDate, r.status.toLowerCase().replace("_", " ")];
    if (!isZero(r.outstanding)) parts.push("outstanding " + m(r.outstanding));
    if (!isZero(unpaidPen)) parts.push("penalty " + m(unpaidPen));
    if (!isZero(r.lateFee)) parts.push("late fee " + m(r.lateFee));
    if (r.feesPaused) parts.push("fees paused");
    return parts.join(" · ");
  }

  function repaymentForm(p) {
    const defs = [
      { name: "repaymentNo", label: "Repayment no", required: true, hint: NO_HINT },
      { name: "amount", label: "Amount received", type: "money", required: true, placeholder: "1000.00" },
      { name: "paidOn", label: "Paid on", type: "date", hint: "Business date the money arrived (not in the future)" },
      { name: "note", label: "Note", wide: true, placeholder: "optional, e.g. bank slip ref" },
    ];
    return opForm({
      defs,
      values: { repaymentNo: RM.opNo("REP"), paidOn: RM.schedule.today() },
      submitLabel: "Record repayment",
      confirm: (v) => "Record an offline repayment of " + m(v.amount) + " on plan " + p.planId + (v.paidOn ? " (paid on " + v.paidOn + ")" : "") + "? It is applied in the allocation order.",
      send: (v) => RM.api("POST", planPath(p.planId) + "/repayments", { body: v }),
      done: (r, v) => "Offline repayment " + v.repaymentNo + " recorded: applied " + m(r.applied || v.amount) + (r.surplus && !isZero(r.surplus) ? ", surplus " + m(r.surplus) : "") + ".",
    });
  }

  function waiverForm(p) {
    const inst = p.installments || [];
    const open = inst.filter((r) => r.status !== "PAID");
    const options = (open.length ? open : inst).map((r) => ({ value: String(r.period), label: periodLabel(r) }));
    const first = inst.find((r) => r.status === "OVERDUE") || open[0];
    const defs = [
      { name: "waiverNo", label: "Waiver no", required: true, hint: NO_HINT },
      { name: "period", label: "Installment", type: "select", options, required: true, wide: true },
      { name: "penalty", label: "Penalty to waive", type: "money", placeholder: "0.00" },
      { name: "fee", label: "Fee to waive", type: "money", placeholder: "0.00", hint: "Late fee first" },
      { name: "full", label: "Waive all unpaid penalty and late fee, and stop accruing", type: "checkbox", wide: true },
      { name: "reason", label: "Reason", required: true, wide: true, hint: "2-200 characters; kept in the plan's audit trail" },
    ];
    const form = opForm({
      defs,
      values: { waiverNo: RM.opNo("WVR"), period: first ? String(first.period) : undefined },
      submitLabel: "Waive",
      validate: (v) => {
        if (v.full && (v.penalty !== undefined || v.fee !== undefined)) return [{ field: "full", message: "A full waiver takes everything unpaid: leave the amounts empty" }, { field: "penalty", message: "Leave empty for a full waiver" }];
        if (!v.full && v.penalty === undefined && v.fee === undefined) return [{ field: "penalty", message: "Give a penalty or fee amount, or tick the full waiver" }];
        return null;
      },
      confirm: (v) =>
        "Waive on installment #" + v.period + " of plan " + p.planId + ": " + (v.full ? "all unpaid penalty and late fee, and stop accruing" : [v.penalty ? "penalty " + m(v.penalty) : null, v.fee ? "fee " + m(v.fee) : null].filter(Boolean).join(", ")) + "?",
      send: (v) => RM.api("POST", planPath(p.planId) + "/waivers", { body: Object.assign({}, v, { period: Number.parseInt(v.period, 10), full: v.full || undefined }) }),
      done: (r, v) => "Waiver " + v.waiverNo + " on #" + v.period + ": penalty " + m(r.waived ? r.waived.penalty : v.penalty) + ", fee " + m(r.waived ? r.waived.fee : v.fee) + (r.outstanding ? "; outstanding now " + m(r.outstanding) : "") + ".",
    });
    return form;
  }

  function feesPauseForm(p) {
    const inst = p.installments || [];
    const open = inst.filter((r) => r.status !== "PAID");
    const options = (open.length ? open : inst).map((r) => ({ value: String(r.period), label: periodLabel(r) }));
    const first = inst.find((r) => r.status === "OVERDUE") || open[0];
    const defs = [
      { name: "period", label: "Installment", type: "select", options, required: true, wide: true },
      { name: "paused", label: "Accrual", type: "select", options: [{ value: "true", label: "Pause accrual (paused days are never charged)" }, { value: "false", label: "Restart accrual" }], required: true, wide: true },
      { name: "reason", label: "Reason", required: true, wide: true, placeholder: "e.g. customer dispute" },
    ];
    const stateOf = (period) => {
      const r = inst.find((x) => String(x.period) === String(period));
      return r && r.feesPaused ? "false" : "true";
    };
    const form = opForm({
      defs,
      values: { period: first ? String(first.period) : undefined, paused: first ? stateOf(first.period) : "true" },
      submitLabel: "Apply",
      confirm: (v) => (v.paused === "true" ? "Pause" : "Restart") + " overdue accrual on installment #" + v.period + " of plan " + p.planId + "?",
      send: (v) => RM.api("POST", planPath(p.planId) + "/fees-pause", { body: { period: Number.parseInt(v.period, 10), paused: v.paused === "true", reason: v.reason } }),
      done: (_r, v) => "Overdue accrual " + (v.paused === "true" ? "paused" : "restarted") + " on installment #" + v.period + ".",
    });
    const periodSel = inputOf(form, "period");
    if (periodSel) periodSel.addEventListener("change", () => (inputOf(form, "paused").value = stateOf(periodSel.value)));
    return form;
  }

  function rescheduleForm(p) {
    const unpaid = (p.installments || []).filter((r) => r.status !== "PAID");
    const defs = [
      { name: "rescheduleNo", label: "Reschedule no", required: true, hint: NO_HINT },
      { name: "type", label: "Type", type: "select", required: true, options: [{ value: "DEFER", label: "DEFER — move due dates later" }, { value: "EXTEND", label: "EXTEND — add periods to the term" }] },
      { name: "days", label: "Defer by days", type: "int", min: 1, hint: "DEFER: days or periods (one of them)" },
      { name: "periods", label: "Defer by periods", type: "int", min: 1 },
      { name: "fromPeriod", label: "From installment", type: "select", options: unpaid.map((r) => ({ value: String(r.period), label: "#" + r.period + " · due " + r.dueDate })), emptyLabel: "first unpaid (default)" },
      { name: "extraPeriods", label: "Extra periods", type: "int", min: 1, hint: "EXTEND: periods added to the term" },
      { name: "chargeFee", label: "Charge the reschedule fee of the SERVICING rule", type: "checkbox", wide: true },
      { name: "reason", label: "Reason", required: true, wide: true },
    ];
    const form = opForm({
      defs,
      values: { rescheduleNo: RM.opNo("RSC"), type: "DEFER", chargeFee: true },
      submitLabel: "Reschedule",
      validate: (v) => {
        if (v.type === "DEFER" && (v.days === undefined) === (v.periods === undefined)) return [{ field: "days", message: "Give days or periods (exactly one)" }, { field: "periods", message: "Give days or periods (exactly one)" }];
        if (v.type === "EXTEND" && v.extraPeriods === undefined) return [{ field: "extraPeriods", message: "How many periods to add" }];
        return null;
      },
      confirm: (v) =>
        "Reschedule plan " + p.planId + ": " + (v.type === "DEFER" ? "defer " + (v.days !== undefined ? v.days + " day(s)" : v.periods + " period(s)") + (v.fromPeriod ? " from #" + v.fromPeriod : "") : "extend by " + v.extraPeriods + " period(s)") + (v.chargeFee ? ", charging the reschedule fee" : ", no fee") + "? The current schedule is kept as a revision.",
      send: (v) => {
        const body = { rescheduleNo: v.rescheduleNo, type: v.type, chargeFee: !!v.chargeFee, reason: v.reason };
        if (v.type === "DEFER") {
          if (v.days !== undefined) body.days = v.days;
          if (v.periods !== undefined) body.periods = v.periods;
          if (v.fromPeriod !== undefined) body.fromPeriod = Number.parseInt(v.fromPeriod, 10);
        } else {
          body.extraPeriods = v.extraPeriods;
        }
        return RM.api("POST", planPath(p.planId) + "/reschedule", { body });
      },
      done: (r, v) => "Reschedule " + v.rescheduleNo + " (" + v.type + ") done: " + (r.installments !== undefined ? r.installments + " installments, " : "") + "fee " + m(r.fee || "0.00") + (r.revision ? "; now revision " + r.revision : "") + ".",
    });
    const typeSel = inputOf(form, "type");
    const sync = () => {
      const defer = typeSel.value !== "EXTEND";
      for (const n of ["days", "periods", "fromPeriod"]) showField(form, n, defer);
      showField(form, "extraPeriods", !defer);
    };
    typeSel.addEventListener("change", sync);
    sync();
    return form;
  }

  function quoteKv(q, pairs) {
    return h("div", { class: "quote" }, RM.kv(pairs.map((pr) => [pr[0], pr[2] ? h("strong", null, m(q[pr[1]])) : m(q[pr[1]])])));
  }

  function prepaymentForm(p) {
    const defs = [
      { name: "prepaymentNo", label: "Prepayment no", required: true, hint: NO_HINT },
      { name: "principal", label: "Principal to prepay", type: "money", required: true, placeholder: "10000.00" },
      { name: "mode", label: "Then", type: "select", required: true, options: [{ value: "KEEP_TERM", label: "Keep the term (lower payments)" }, { value: "KEEP_PAYMENT", label: "Keep the payment (shorter term)" }] },
      { name: "reason", label: "Reason", wide: true, placeholder: "optional" },
    ];
    let quote = null;
    let quotedPrincipal = null;
    const quoteBox = h("div", { class: "quote-box" }, h("p", { class: "muted small" }, "Get a quote first: the amount to record is the quote's total (due now + principal + prepayment fee)."));
    const quoteBtn = h("button", { type: "button", class: "btn" }, "1. Get quote");
    const invalidate = (why) => {
      quote = null;
      quotedPrincipal = null;
      form.submitButton.disabled = true;
      if (why) {
        RM.clear(quoteBox);
        quoteBox.appendChild(h("p", { class: "muted small" }, why));
      }
    };
    const form = opForm({
      defs,
      values: { prepaymentNo: RM.opNo("PP"), mode: "KEEP_TERM" },
      submitLabel: "2. Record prepayment",
      extra: quoteBox,
      before: quoteBtn,
      validate: (v) => (!quote || v.principal !== quotedPrincipal ? [{ field: "principal", message: "Get a quote for this principal first" }] : null),
      confirm: (v) => "Record a prepayment received offline on plan " + p.planId + ": total " + m(quote.total) + " (due now " + m(quote.dueNow) + " + principal " + m(quote.principal) + " + fee " + m(quote.prepaymentFee) + "), " + (v.mode === "KEEP_TERM" ? "keeping the term" : "keeping the payment") + "?",
      send: (v) => RM.api("POST", planPath(p.planId) + "/prepayments", { body: Object.assign({}, v, { amount: quote.total }) }),
      done: (r, v) => "Prepayment " + v.prepaymentNo + " recorded: " + m(r.total || quote.total) + (r.remainingPrincipal ? "; remaining principal " + m(r.remainingPrincipal) : "") + (r.revision ? "; now revision " + r.revision : "") + ".",
      onError: (err) => {
        if (err.code === "AMOUNT_MISMATCH") invalidate("The quote changed (" + err.message + "). Get a new quote.");
      },
    });
    form.submitButton.disabled = true;
    inputOf(form, "principal").addEventListener("input", () => {
      if (quote) invalidate("Principal changed since the quote — get a new quote.");
    });
    quoteBtn.addEventListener("click", async () => {
      const v = RM.readFields(form, defs.map((d) => Object.assign({}, d, { required: d.name === "principal" })));
      if (!v) return;
      await RM.busy(quoteBtn, async () => {
        try {
          const q = await RM.api("GET", planPath(p.planId) + "/prepayment-quote", { query: { principal: v.principal } });
          quote = q;
          quotedPrincipal = v.principal;
          RM.clear(quoteBox);
          quoteBox.appendChild(
            quoteKv(q, [
              ["Quote date", "date"],
              ["Due now", "dueNow"],
              ["Principal", "principal"],
              ["Prepayment fee", "prepaymentFee"],
              ["Total to receive", "total", true],
            ]),
          );
        } catch (err) {
          invalidate(null);
          RM.formError(form, err);
        }
      });
      form.submitButton.disabled = !quote || !RM.can("ops");
    });
    return form;
  }

  function settlementLines(q) {
    return RM.table(
      [
        { label: "#", get: (l) => (l.period !== undefined ? String(l.period) : "—"), num: true },
        { label: "Kind", get: (l) => h("span", { class: "small" }, l.kind || "—") },
        { label: "Principal", get: (l) => m(l.principal), num: true },
        { label: "Interest", get: (l) => m(l.interest), num: true },
        { label: "Fee", get: (l) => m(l.fee), num: true },
        { label: "Penalty", get: (l) => m(l.penalty), num: true },
      ],
      q.lines || [],
      { empty: "No lines", footer: ["", "Total", m(q.principal), m(q.interest), m(q.fee), m(q.penalty)] },
    );
  }

  function settlementForm(p) {
    const today = RM.schedule.today();
    const defs = [
      { name: "settlementNo", label: "Settlement no", required: true, hint: NO_HINT },
      { name: "method", label: "Method", type: "select", required: true, options: [{ value: "OFFLINE", label: "OFFLINE — the money is in (today)" }, { value: "DEBIT", label: "DEBIT — collect by debit on the date" }] },
      { name: "date", label: "Settlement date", type: "date", required: true, hint: "Not in the past; OFFLINE is for today" },
      { name: "reason", label: "Reason", wide: true, placeholder: "optional" },
    ];
    let quote = null;
    let quotedDate = null;
    const quoteBox = h("div", { class: "quote-box" }, h("p", { class: "muted small" }, "Get a quote for the date first. OFFLINE records the quote's total as received; DEBIT leaves the settlement pending until the debit collects it."));
    const quoteBtn = h("button", { type: "button", class: "btn" }, "1. Get quote");
    const invalidate = (why) => {
      quote = null;
      quotedDate = null;
      form.submitButton.disabled = true;
      if (why) {
        RM.clear(quoteBox);
        quoteBox.appendChild(h("p", { class: "muted small" }, why));
      }
    };
    const form = opForm({
      defs,
      values: { settlementNo: RM.opNo("SET"), method: "OFFLINE", date: today },
      submitLabel: "2. Settle",
      extra: quoteBox,
      before: quoteBtn,
      validate: (v) => {
        if (!quote || v.date !== quotedDate) return [{ field: "date", message: "Get a quote for this date first" }];
        if (v.method === "OFFLINE" && v.date !== today) return [{ field: "date", message: "An OFFLINE settlement is for today (" + today + ")" }];
        return null;
      },
      confirm: (v) =>
        v.method === "OFFLINE"
          ? "Settle plan " + p.planId + " now with " + m(quote.total) + " received offline? The plan becomes SETTLED."
          : "Request a DEBIT settlement of plan " + p.planId + " on " + v.date + " for " + m(quote.total) + "? The plan is settled when the debit succeeds.",
      send: (v) => {
        const body = { settlementNo: v.settlementNo, method: v.method, date: v.date };
        if (v.method === "OFFLINE") body.amount = quote.total;
        if (v.reason) body.reason = v.reason;
        return RM.api("POST", planPath(p.planId) + "/settlements", { body });
      },
      done: (r, v) => "Settlement " + v.settlementNo + ": " + (r.status || "done") + (r.amount ? ", " + m(r.amount) : "") + (v.method === "DEBIT" ? " on " + v.date : "") + ".",
      onError: (err) => {
        if (err.code === "AMOUNT_MISMATCH") invalidate("The quote changed (" + err.message + "). Get a new quote.");
      },
    });
    form.submitButton.disabled = true;
    inputOf(form, "date").addEventListener("change", () => {
      if (quote) invalidate("Date changed since the quote — get a new quote.");
    });
    quoteBtn.addEventListener("click", async () => {
      const v = RM.readFields(form, defs.map((d) => Object.assign({}, d, { required: d.name === "date" })));
      if (!v) return;
      await RM.busy(quoteBtn, async () => {
        try {
          const q = await RM.api("GET", planPath(p.planId) + "/settlement-quote", { query: { date: v.date } });
          quote = q;
          quotedDate = v.date;
          RM.clear(quoteBox);
          RM.append(quoteBox, [
            quoteKv(q, [
              ["Principal", "principal"],
              ["Interest", "interest"],
              ["Fee", "fee"],
              ["Penalty", "penalty"],
              ["Prepayment fee", "prepaymentFee"],
              ["Total on " + (q.date || v.date), "total", true],
            ]),
            h("details", { class: "chart-data" }, h("summary", null, "Lines (" + (q.lines || []).length + ")"), settlementLines(q)),
          ]);
        } catch (err) {
          invalidate(null);
          RM.formError(form, err);
        }
      });
      form.submitButton.disabled = !quote || !RM.can("ops");
    });
    return form;
  }

  function cancelSettlementForm(p) {
    const ps = p.pendingSettlement;
    const defs = [{ name: "reason", label: "Reason", required: true, wide: true }];
    return opForm({
      defs,
      submitLabel: "Cancel pending settlement",
      extra: RM.kv([
        ["Settlement no", h("span", { class: "mono" }, ps.settlementNo)],
        ["Method", ps.method],
        ["Date", ps.date],
        ["Amount", h("strong", null, m(ps.amount))],
      ]),
      confirm: () => "Cancel the pending settlement " + ps.settlementNo + " of plan " + p.planId + "?",
      send: (v) => RM.api("POST", planPath(p.planId) + "/settlements/" + encodeURIComponent(ps.settlementNo) + "/cancel", { body: v }),
      done: () => "Pending settlement " + ps.settlementNo + " cancelled.",
    });
  }

  function pauseForm(p) {
    if (p.status === "PAUSED") {
      return opForm({
        defs: [{ name: "reason", label: "Reason", required: true, wide: true }],
        submitLabel: "Resume debits",
        confirm: () => "Resume debits of plan " + p.planId + "?",
        send: (v) => RM.api("POST", planPath(p.planId) + "/resume", { body: v }),
        done: () => "Plan " + p.planId + " resumed.",
      });
    }
    return opForm({
      defs: [
        { name: "reason", label: "Reason", required: true, wide: true },
        { name: "until", label: "Until (inclusive)", type: "date", hint: "Empty: until resumed by hand" },
      ],
      submitLabel: "Pause debits",
      confirm: (v) => "Pause debits of plan " + p.planId + (v.until ? " until " + v.until : " until resumed") + "?",
      send: (v) => RM.api("POST", planPath(p.planId) + "/pause", { body: v }),
      done: (_r, v) => "Plan " + p.planId + " paused" + (v.until ? " until " + v.until : "") + ".",
    });
  }

  function actionsTab(p) {
    const open = p.status === "ACTIVE" || p.status === "PAUSED";
    const out = [];
    if (!RM.can("ops")) out.push(h("div", { class: "note" }, "These operations need the ops role; you are " + RM.role + "."));
    if (!open) {
      out.push(h("div", { class: "note note-warn" }, "The plan is " + p.status.toLowerCase() + ": it can no longer be changed" + (p.status === "SETTLED" ? " (a late offline repayment can still be recorded)." : ".")));
      if (p.status === "SETTLED") out.push(h("div", { class: "grid-2" }, card("Offline repayment (线下还款)", "Money received outside the debit channels.", repaymentForm(p))));
      return out;
    }
    out.push(
      h(
        "div",
        { class: "grid-2" },
        card("Offline repayment (线下还款)", "Money received outside the debit channels; applied in the allocation order and recorded as an OFFLINE flow.", repaymentForm(p)),
        card(p.status === "PAUSED" ? "Resume debits" : "Pause debits", p.status === "PAUSED" ? "Debits are paused: " + ((p.pause && p.pause.reason) || "") : "No debits are sent for a paused plan; overdue fees still accrue.", pauseForm(p)),
        card("Waiver (减免)", "Waive unpaid penalty and/or fee of one installment, or everything unpaid with accrual stopped.", waiverForm(p)),
        card("Pause / restart fee accrual", "Per installment, e.g. during a dispute.", feesPauseForm(p)),
        card("Reschedule (换期)", p.pendingSettlement ? "Not while a settlement is pending." : "Defer due dates or extend the term; the current schedule is kept as a revision.", rescheduleForm(p)),
        card("Partial prepayment (提前还款)", p.pendingSettlement ? "Not while a settlement is pending." : "Money received offline; the plan is re-amortized.", prepaymentForm(p)),
        p.pendingSettlement
          ? card("Pending settlement", "A DEBIT settlement is waiting for its money; cancel it before the debit if it should not happen.", cancelSettlementForm(p))
          : card("Early settlement (提前结清)", "Quote for a date, then settle offline (today) or by debit.", settlementForm(p)),
      ),
    );
    return out;
  }

  // ------------------------------------------------------------------ history

  function detailsText(d) {
    if (d === undefined || d === null) return null;
    if (typeof d !== "object") return String(d);
    const parts = [];
    for (const k of Object.keys(d)) {
      const v = d[k];
      if (v === undefined || v === null) continue;
      parts.push(k + ": " + (typeof v === "object" ? JSON.stringify(v) : String(v)));
    }
    return parts.length ? h("ul", { class: "change-list" }, parts.map((t) => h("li", null, t))) : null;
  }

  async function historyTab(p) {
    const box = h("div", null, h("div", { class: "loading" }, "Loading…"));
    const res = await RM.api("GET", planPath(p.planId) + "/revisions");
    RM.clear(box);
    const events = (res.events || []).slice().reverse();
    const revisions = (res.revisions || []).slice().reverse();
    const current = res.current || { revision: p.revision || 1, installments: p.installments };
    RM.append(box, [
      h(
        "section",
        { class: "card" },
        h("h2", null, "Audit trail (" + events.length + ")"),
        h("p", { class: "muted small" }, "Manual operations on this plan, newest first."),
        RM.table(
          [
            { label: "When", get: (e) => RM.dt(e.at), cls: "small nowrap" },
            { label: "Who", get: (e) => h("strong", null, e.by || "—") },
            { label: "Action", get: (e) => RM.badge(e.action, "muted") },
            { label: "Ref", get: (e) => (e.ref ? h("span", { class: "mono small" }, e.ref) : "—") },
            { label: "Reason", get: (e) => e.reason || "—" },
            { label: "Details", get: (e) => detailsText(e.details) || "—" },
          ],
          events,
          { empty: "No manual operation yet" },
        ),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", null, "Schedule revisions (" + (revisions.length + 1) + ")"),
        h("p", { class: "muted small" }, "The installments before each reschedule, prepayment or settlement; the current one first."),
        h("details", { class: "revision" }, h("summary", null, h("strong", null, "Revision " + current.revision), " ", RM.badge("CURRENT", "ok"), h("span", { class: "muted" }, " · " + (current.installments || []).length + " installments")), revisionTable(current.installments)),
        revisions.map((r) =>
          h(
            "details",
            { class: "revision" },
            h(
              "summary",
              null,
              h("strong", null, "Revision " + r.revision),
              h("span", { class: "muted" }, " · " + RM.dt(r.at) + " · "),
              r.reason || "",
              r.ref ? [" · ", h("span", { class: "mono small" }, r.ref)] : null,
              h("span", { class: "muted" }, " · " + (r.installments || []).length + " installments"),
            ),
            revisionTable(r.installments),
          ),
        ),
      ),
      h("section", { class: "card" }, h("h2", null, "Owners"), ownersTable(Object.assign({}, p, { owners: res.owners || p.owners }))),
    ]);
    return box;
  }

  RM.plans = { installmentsTable, planLink, pausePlan, resumePlan, pauseButton, agingBadge };

  // ------------------------------------------------------------------ detail

  RM.route(
    "/plans/:planId",
    async (el, params, query) => {
      const tab = query.tab === "actions" || query.tab === "history" ? query.tab : "schedule";
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/plans", "Plans"), " / ", params.planId), h("div", { class: "loading" }, "Loading…")]);
      const p = await RM.api("GET", planPath(params.planId));
      RM.clear(el);
      const t = p.terms || {};
      const inst = p.installments || [];
      const paid = RM.decSum(inst.map((r) => r.paidTotal));
      const outstanding = RM.decSum(inst.map((r) => r.outstanding));
      const penalty = RM.decSum(inst.map((r) => r.penalty));
      const next = inst.find((r) => r.status !== "PAID");
      const ps = p.pendingSettlement;
      const base = "#/plans/" + encodeURIComponent(p.planId);
      const tabLink = (id, label) => h("a", { href: base + (id === "schedule" ? "" : "?tab=" + id), class: tab === id ? "active" : "" }, label);
      RM.append(el, [
        h("div", { class: "crumbs" }, RM.link("#/plans", "Plans"), " / ", p.planId),
        h(
          "div",
          { class: "page-head" },
          h("h1", null, "Plan ", h("span", { class: "mono" }, p.planId)),
          RM.badge(p.status),
          ps ? RM.badge("SETTLEMENT PENDING", "warn") : null,
          p.aging ? agingBadge(p.aging) : null,
          pauseButton(p.planId, p.status, () => RM.render()),
          h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh"),
        ),
        p.status === "PAUSED" && p.pause
          ? h(
              "div",
              { class: "note note-warn" },
              h("strong", null, "Debits paused"),
              " — " + p.pause.reason + (p.pause.until ? " · until " + p.pause.until + " (inclusive)" : " · until resumed by hand") + " · by " + p.pause.by + " at " + RM.dt(p.pause.at),
            )
          : null,
        ps
          ? h(
              "div",
              { class: "note note-warn" },
              h("strong", null, "Settlement pending"),
              " — ",
              h("span", { class: "mono" }, ps.settlementNo),
              " · " + ps.method + " on " + ps.date + " · " + m(ps.amount) + " ",
              tab !== "actions" ? RM.link(base + "?tab=actions", "cancel…", "small") : null,
            )
          : null,
        h(
          "div",
          { class: "stat-row" },
          RM.stat("Principal", m(p.totals && p.totals.principal)),
          RM.stat("Interest", m(p.totals && p.totals.interest)),
          RM.stat("Fees", m(p.totals && p.totals.fee)),
          RM.stat("Total", m(p.totals && p.totals.total)),
          RM.stat("Penalty accrued", m(penalty)),
          RM.stat("Paid", m(paid)),
          RM.stat("Outstanding", m(outstanding)),
          RM.stat("Overdue", p.overdueDays ? h("span", { class: "late" }, m(p.overdueAmount)) : "—", p.overdueDays ? p.overdueDays + " days" + (p.aging ? " · " + p.aging : "") : "nothing overdue"),
          RM.stat("Next due", next ? next.dueDate : "—", next ? m(next.outstanding) : "all paid"),
        ),
        h("div", { class: "tabs" }, tabLink("schedule", "Schedule & trades"), tabLink("actions", "Actions"), tabLink("history", "History")),
      ]);

      if (tab === "actions") {
        RM.append(el, actionsTab(p));
        return;
      }
      if (tab === "history") {
        el.appendChild(await historyTab(p));
        return;
      }

      const transferLink = RM.can("ops") && (p.status === "ACTIVE" || p.status === "PAUSED") ? RM.link("#/transfers?planIds=" + encodeURIComponent(p.planId), "Transfer to another funder →", "small") : null;
      RM.append(el, [
        h(
          "div",
          { class: "grid-2" },
          h(
            "section",
            { class: "card" },
            h("h2", null, "Plan"),
            RM.kv([
              ["Order", RM.link(RM.orderHref(p), p.source + " / " + p.orderNo)],
              ["Order id", h("span", { class: "mono" }, p.orderId)],
              ["Business type", p.bizType],
              ["Funder (today)", p.funderId],
              ["Product", p.productCode],
              ["Customer", p.customerId],
              p.bindingId ? ["Binding", RM.link("#/bindings/" + encodeURIComponent(p.bindingId), p.bindingId, "mono")] : null,
              ["Status", RM.badge(p.status)],
              ["Partition", String(p.partition)],
              ["Revision", p.revision !== undefined ? String(p.revision) : "1"],
              ["Version", p.version !== undefined ? String(p.version) : null],
              ["Created", RM.dt(p.createdAt)],
              ["Updated", RM.dt(p.updatedAt)],
            ]),
            h("h2", { class: "spaced" }, "Owners"),
            ownersTable(p),
            transferLink ? h("p", null, transferLink) : null,
          ),
          h(
            "section",
            { class: "card" },
            h("h2", null, "Terms"),
            RM.kv([
              ["Principal", m(t.principal)],
              ["Annual rate", t.annualRate],
              ["Term", t.term !== undefined ? t.term + " " + (t.termUnit || "MONTH").toLowerCase() + "(s)" : "—"],
              ["Method", t.repaymentMethod],
              ["Start date", t.startDate],
              t.dueDay ? ["Due day", String(t.dueDay)] : null,
              t.interestBasis ? ["Interest basis", t.interestBasis] : null,
              t.dayCount ? ["Day count", t.dayCount] : null,
              t.leaseTiming ? ["Lease timing", t.leaseTiming] : null,
              t.residual ? ["Residual", m(t.residual)] : null,
              t.fee ? ["Fee per period", m(t.fee)] : null,
            ]),
            ps
              ? [
                  h("h2", null, "Pending settlement"),
                  RM.kv([
                    ["Settlement no", h("span", { class: "mono" }, ps.settlementNo)],
                    ["Method", ps.method],
                    ["Date", ps.date],
                    ["Amount", h("strong", null, m(ps.amount))],
                  ]),
                ]
              : null,
          ),
        ),
        h("section", { class: "card" }, h("h2", null, "Installments (" + inst.length + ")"), installmentsTable(p)),
      ]);
      const tradesBox = h(
        "section",
        { class: "card", id: "plan-trades" },
        h("h2", null, "Trades ", RM.link("#/trades?planId=" + encodeURIComponent(p.planId), "all", "small")),
        h("div", { class: "loading" }, "Loading…"),
      );
      el.appendChild(tradesBox);
      try {
        const res = await RM.api("GET", "/trades", { query: { planId: p.planId, pageSize: 100 } });
        RM.clear(tradesBox);
        RM.append(tradesBox, [
          h("h2", null, "Trades (" + res.total + ")", res.total > res.rows.length ? [" · newest " + res.rows.length + " ", RM.link("#/trades?planId=" + encodeURIComponent(p.planId), "see all", "small")] : null),
          RM.trades.tradesTable(res.rows, "No debit has been attempted for this plan yet", ["Plan / payout"]),
        ]);
      } catch (err) {
        tradesBox.querySelector(".loading").textContent = "Could not load the trades: " + err.code;
        if (err.status !== 401) RM.showError(err);
      }
    },
    "plans",
  );
})();
