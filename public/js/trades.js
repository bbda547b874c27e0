/*
 * Trades (debit and payout orders) with their state history, and money flows (资金流水). Also the
 * shared trade helpers other pages use (RM.trades): links, state badges, failure text, a trades table.
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;
  const m = RM.money;

  const STATES = ["INIT", "SENDING", "SUCCESS", "FAILED", "UNKNOWN"];

  function tradeHref(tradeNo) {
    return "#/trades/" + encodeURIComponent(tradeNo);
  }

  function tradeLink(tradeNo, cls) {
    return tradeNo ? RM.link(tradeHref(tradeNo), tradeNo, cls || "mono small") : "—";
  }

  function planLink(planId) {
    return planId ? RM.link("#/plans/" + encodeURIComponent(planId), planId, "mono small") : "—";
  }

  function payoutLink(payoutNo) {
    return payoutNo ? RM.link("#/payouts?payoutNo=" + encodeURIComponent(payoutNo), payoutNo, "mono small") : "—";
  }

  function runLink(runId) {
    return runId ? RM.link("#/runs/" + encodeURIComponent(runId), runId, "mono small") : "—";
  }

  /** The state badge, plus a highlighted "reconcile" badge when the trade needs reconciliation. */
  function stateBadges(t) {
    return [RM.badge(t.state), t.needsReconciliation ? RM.badge("RECONCILE", "recon") : null];
  }

  function failureText(f) {
    if (!f) return "";
    return [f.reason, f.side ? "(" + f.side.toLowerCase() + ")" : null, f.bankCode ? "bank " + f.bankCode : null].filter(Boolean).join(" ");
  }

  function failureCell(f) {
    if (!f) return "—";
    return h("div", { class: "failure-cell", title: f.message || undefined }, h("span", { class: "small" }, failureText(f)), f.message ? h("div", { class: "muted small" }, f.message) : null);
  }

  function maskAccount(no) {
    const s = String(no || "");
    return s ? "****" + s.slice(-4) : "—";
  }

  /** "2026-02-15 11:00:00" on two lines: the day, then the time. */
  function dtCell(iso) {
    const s = RM.dt(iso);
    const i = s.indexOf(" ");
    return i > 0 ? h("div", null, s.slice(0, i), h("div", { class: "muted" }, s.slice(i + 1))) : s;
  }

  function rowClass(t) {
    return t.state === "UNKNOWN" || t.needsReconciliation ? "row-attention" : t.state === "FAILED" ? "row-failed" : undefined;
  }

  const COLUMNS = [
    { label: "Trade", get: (t) => h("div", null, tradeLink(t.tradeNo), h("div", { class: "muted small" }, t.kind + " · attempt " + t.attempt)), cls: "nowrap" },
    {
      label: "State",
      get: (t) =>
        h(
          "div",
          null,
          h("div", { class: "nowrap" }, stateBadges(t)),
          t.queries ? h("div", { class: "muted small nowrap" }, t.queries + (t.queries === 1 ? " query" : " queries")) : null,
          t.nextQueryAt ? h("div", { class: "muted small nowrap" }, "next " + RM.dt(t.nextQueryAt)) : null,
        ),
    },
    { label: "Amount", get: (t) => h("div", null, m(t.amount), h("div", { class: "muted small" }, "fee " + m(t.fee))), num: true },
    { label: "Channel", get: (t) => t.channel || "—" },
    { label: "Plan / payout", get: (t) => (t.kind === "PAYOUT" ? payoutLink(t.payoutNo) : h("div", null, planLink(t.planId), t.periods && t.periods.length ? h("div", { class: "muted small" }, "periods " + t.periods.join(", ")) : null)) },
    { label: "Slot / date", get: (t) => h("span", { class: "small nowrap" }, t.slotId ? t.slotId.replace("T", " ") : t.businessDate) },
    { label: "Failure", get: (t) => failureCell(t.failure) },
    { label: "Updated", get: (t) => dtCell(t.updatedAt), cls: "small nowrap" },
  ];

  /** A plain (unpaged) trades table, e.g. a plan's trades (without the plan column: omit = ["Plan / payout"]). */
  function tradesTable(rows, empty, omit) {
    const cols = omit ? COLUMNS.filter((c) => !omit.includes(c.label)) : COLUMNS;
    return RM.table(cols, rows, { empty: empty || "No trades", rowClass });
  }

  RM.trades = { STATES, dtCell, tradeHref, tradeLink, planLink, payoutLink, runLink, stateBadges, failureText, failureCell, maskAccount, rowClass, tradesTable, COLUMNS };

  // ------------------------------------------------------------------ list

  const FILTERS = [
    { name: "kind", label: "Kind", type: "select", options: ["DEBIT", "PAYOUT"], emptyLabel: "any" },
    { name: "state", label: "State", type: "select", options: STATES, emptyLabel: "any" },
    { name: "needsReconciliation", label: "Reconciliation", type: "select", options: [{ value: "true", label: "needs reconciliation" }], emptyLabel: "any" },
    { name: "channel", label: "Channel", placeholder: "BANK_A" },
    { name: "date", label: "Business date", type: "date" },
    { name: "planId", label: "Plan id" },
    { name: "runId", label: "Run id" },
  ];

  RM.route(
    "/trades",
    async (el, _params, query) => {
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Trades"), RM.link("#/flows", "Money flows →")),
        h("p", { class: "muted" }, "Debit (代扣) and payout (代付) orders. UNKNOWN trades are being queried at the channel; rows needing reconciliation are highlighted."),
      ]);
      await RM.listPage(el, { api: "/trades", hashPath: "/trades", filters: FILTERS, columns: COLUMNS, rowClass, empty: "No trades match these filters" }, query);
    },
    "trades",
  );

  // ------------------------------------------------------------------ detail

  function timeline(history) {
    const list = history || [];
    if (!list.length) return h("p", { class: "muted" }, "No state changes recorded.");
    return h(
      "ol",
      { class: "timeline" },
      list.map((e, i) =>
        h(
          "li",
          { class: "timeline-item" + (i === list.length - 1 ? " timeline-last" : "") },
          h("span", { class: "timeline-dot timeline-" + String(e.to).toLowerCase() }),
          h(
            "div",
            { class: "timeline-body" },
            h("div", null, e.from ? [RM.badge(e.from), h("span", { class: "muted" }, " → ")] : h("span", { class: "muted" }, "created "), RM.badge(e.to)),
            h("div", { class: "muted small" }, RM.dt(e.at)),
            e.note ? h("div", { class: "small" }, e.note) : null,
          ),
        ),
      ),
    );
  }

  RM.route(
    "/trades/:tradeNo",
    async (el, params) => {
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/trades", "Trades"), " / ", params.tradeNo), h("div", { class: "loading" }, "Loading…")]);
      const t = await RM.api("GET", "/trades/" + encodeURIComponent(params.tradeNo));
      RM.clear(el);
      const f = t.failure;
      const b = t.beneficiary;
      RM.append(el, [
        h("div", { class: "crumbs" }, RM.link("#/trades", "Trades"), " / ", t.tradeNo),
        h("div", { class: "page-head" }, h("h1", null, t.kind === "PAYOUT" ? "Payout trade " : "Debit trade ", h("span", { class: "mono" }, t.tradeNo)), stateBadges(t), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        t.state === "UNKNOWN"
          ? h("div", { class: "note note-warn" }, "The channel has not said whether this trade went through. It is queried again" + (t.nextQueryAt ? " at " + RM.dt(t.nextQueryAt) : "") + "; it is not retried until the channel answers.")
          : null,
        t.needsReconciliation ? h("div", { class: "note note-warn" }, "Queries ran out without a final answer: this trade needs reconciliation against the channel's statement.") : null,
        h(
          "div",
          { class: "stat-row" },
          RM.stat("Amount", m(t.amount)),
          RM.stat("Fee", m(t.fee)),
          RM.stat("Channel", t.channel || "—"),
          RM.stat("Attempt", String(t.attempt)),
          RM.stat("Queries", String(t.queries || 0), t.nextQueryAt ? "next " + RM.dt(t.nextQueryAt) : null),
          RM.stat("Business date", t.businessDate),
        ),
        h(
          "div",
          { class: "grid-2" },
          h(
            "section",
            { class: "card" },
            h("h2", null, "Trade"),
            RM.kv([
              ["Kind", t.kind],
              ["State", stateBadges(t)],
              t.kind === "PAYOUT" ? ["Payout", payoutLink(t.payoutNo)] : ["Plan", planLink(t.planId)],
              t.periods && t.periods.length ? ["Periods", t.periods.join(", ")] : null,
              t.slotId ? ["Slot", t.slotId] : null,
              t.runId ? ["Run", runLink(t.runId)] : null,
              t.bindingId ? ["Binding", RM.link("#/bindings/" + encodeURIComponent(t.bindingId), t.bindingId, "mono small")] : null,
              t.agreementNo ? ["Agreement", h("span", { class: "mono" }, t.agreementNo)] : null,
              b ? ["Beneficiary", maskAccount(b.accountNo) + " · " + (b.accountName || "") + (b.funderId ? " · " + b.funderId : "")] : null,
              t.purpose ? ["Purpose", t.purpose] : null,
              ["Channel ref", t.channelRef ? h("span", { class: "mono" }, t.channelRef) : null],
              t.applied !== undefined ? ["Applied to plan", RM.yesNo(t.applied)] : null,
              t.partition !== undefined ? ["Partition", String(t.partition)] : null,
              ["Created", RM.dt(t.createdAt)],
              t.sentAt ? ["Sent", RM.dt(t.sentAt)] : null,
              t.completedAt ? ["Completed", RM.dt(t.completedAt)] : null,
              ["Updated", RM.dt(t.updatedAt)],
            ]),
            f
              ? [
                  h("h2", null, "Failure"),
                  RM.kv([["Reason", h("strong", null, f.reason)], f.side ? ["Side", f.side] : null, f.bankCode ? ["Bank code", h("span", { class: "mono" }, f.bankCode)] : null, f.message ? ["Message", f.message] : null]),
                ]
              : null,
          ),
          h("section", { class: "card" }, h("h2", null, "State history"), timeline(t.history)),
        ),
      ]);
    },
    "trades",
  );

  // ------------------------------------------------------------------ flows

  const FLOW_FILTERS = [
    { name: "kind", label: "Kind", type: "select", options: ["DEBIT", "PAYOUT", "OFFLINE"], emptyLabel: "any" },
    { name: "channel", label: "Channel", placeholder: "BANK_A" },
    { name: "funderId", label: "Funder (owner)" },
    { name: "planId", label: "Plan id" },
    { name: "businessDate", label: "Business date", type: "date" },
  ];

  const FLOW_COLUMNS = [
    { label: "Flow / trade", get: (f) => h("div", null, h("div", { class: "mono small" }, f.flowNo), f.kind === "OFFLINE" ? h("div", { class: "muted small" }, "received offline (no trade)") : h("div", { class: "small" }, "trade ", tradeLink(f.tradeNo))), cls: "nowrap" },
    { label: "Kind", get: (f) => RM.badge(f.kind, "muted") },
    { label: "Direction", get: (f) => RM.badge(f.direction, f.direction === "IN" ? "ok" : "warn") },
    { label: "Amount", get: (f) => m(f.amount), num: true },
    { label: "Fee", get: (f) => m(f.fee), num: true },
    { label: "Channel", get: (f) => f.channel || "—" },
    { label: "Plan / payout", get: (f) => (f.payoutNo ? payoutLink(f.payoutNo) : planLink(f.planId)) },
    { label: "Funder", get: (f) => f.funderId || "—" },
    { label: "Date", get: (f) => h("span", { class: "small nowrap" }, f.businessDate) },
    { label: "Created", get: (f) => dtCell(f.createdAt), cls: "small nowrap" },
  ];

  /** Page totals per direction, summed exactly on the decimal strings. */
  function flowFooter(rows) {
    const sumOf = (dir) => RM.decSum(rows.filter((f) => f.direction === dir).map((f) => f.amount));
    const hasOut = rows.some((f) => f.direction === "OUT");
    return [
      "This page",
      "",
      "",
      h("div", null, "in " + m(sumOf("IN")), hasOut ? h("div", null, "out " + m(sumOf("OUT"))) : null),
      m(RM.decSum(rows.map((f) => f.fee))),
      "",
      "",
      "",
      "",
      "",
    ];
  }

  RM.route(
    "/flows",
    async (el, _params, query) => {
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Money flows"), RM.link("#/trades", "Trades →")),
        h("p", { class: "muted" }, "One flow (资金流水) per successful trade: IN for collected debits, OUT for payouts; OFFLINE flows record money received outside the channels (offline repayments, prepayments, settlements). Funder: the plan's owner on the flow's date."),
      ]);
      await RM.listPage(el, { api: "/flows", hashPath: "/flows", filters: FLOW_FILTERS, columns: FLOW_COLUMNS, footer: flowFooter, empty: "No flows match these filters" }, query);
    },
    "flows",
  );
})();
