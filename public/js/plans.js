/* Plans: filterable paged list and plan detail with the installment table, totals and the plan's trades. */
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

  function installmentsTable(plan) {
    const rows = plan.installments || [];
    const sum = (k) => RM.decSum(rows.map((r) => r[k]));
    const today = RM.clock && RM.clock.businessDate;
    const cols = [
      { label: "#", get: (r) => String(r.period), num: true },
      { label: "Due date", get: (r) => r.dueDate, cls: "nowrap" },
      { label: "Principal", get: (r) => m(r.principal), num: true },
      { label: "Interest", get: (r) => m(r.interest), num: true },
      { label: "Fee", get: (r) => m(r.fee), num: true },
      { label: "Penalty", get: (r) => m(r.penalty), num: true },
      { label: "Total", get: (r) => h("strong", null, m(r.total)), num: true },
      { label: "Paid", get: (r) => m(r.paidTotal), num: true },
      { label: "Outstanding", get: (r) => m(r.outstanding), num: true },
      { label: "Status", get: (r) => RM.badge(r.status) },
    ];
    return RM.table(cols, rows, {
      empty: "No installments",
      rowClass: (r) => (r.status === "OVERDUE" ? "row-overdue" : r.status === "PAID" ? "row-paid" : today && r.dueDate === today ? "row-due" : undefined),
      footer: ["", "Total", m(sum("principal")), m(sum("interest")), m(sum("fee")), m(sum("penalty")), h("strong", null, m(sum("total"))), m(sum("paidTotal")), m(sum("outstanding")), ""],
    });
  }

  RM.plans = { installmentsTable, planLink };

  RM.route(
    "/plans/:planId",
    async (el, params) => {
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/plans", "Plans"), " / ", params.planId), h("div", { class: "loading" }, "Loading…")]);
      const p = await RM.api("GET", "/plans/" + encodeURIComponent(params.planId));
      RM.clear(el);
      const t = p.terms || {};
      const inst = p.installments || [];
      const paid = RM.decSum(inst.map((r) => r.paidTotal));
      const outstanding = RM.decSum(inst.map((r) => r.outstanding));
      const penalty = RM.decSum(inst.map((r) => r.penalty));
      const next = inst.find((r) => r.status !== "PAID");
      RM.append(el, [
        h("div", { class: "crumbs" }, RM.link("#/plans", "Plans"), " / ", p.planId),
        h("div", { class: "page-head" }, h("h1", null, "Plan ", h("span", { class: "mono" }, p.planId)), RM.badge(p.status)),
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
          RM.stat("Next due", next ? next.dueDate : "—", next ? m(next.outstanding) : "all paid"),
        ),
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
              ["Funder", p.funderId],
              ["Product", p.productCode],
              ["Customer", p.customerId],
              p.bindingId ? ["Binding", RM.link("#/bindings/" + encodeURIComponent(p.bindingId), p.bindingId, "mono")] : null,
              ["Partition", String(p.partition)],
              ["Version", p.version !== undefined ? String(p.version) : null],
              ["Created", RM.dt(p.createdAt)],
              ["Updated", RM.dt(p.updatedAt)],
            ]),
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
