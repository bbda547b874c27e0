/*
 * Collection (催收): the overdue list with every filter of GET /overdue, the total count and amount,
 * paging, quick pause / resume per plan, and "Run accrual now" with the run's progress polled once a
 * second until it is no longer RUNNING (stopped when the page is left).
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;
  const m = RM.money;


  /** The accrual run started from this page: shown again (and still polled) after a re-render. */
  const runState = { run: null }; // the last run started from this page, kept between renders

  const FILTERS = [
    { name: "funderId", label: "Funder" },
    { name: "productCode", label: "Product" },
    { name: "bizType", label: "Business type", type: "select", options: RM.schedule.BIZ_TYPES, emptyLabel: "any" },
    { name: "bucket", label: "Aging bucket", placeholder: "M1, M2, M3+…" },
    { name: "minDays", label: "Days overdue ≥", type: "int", min: 0 },
    { name: "maxDays", label: "Days overdue ≤", type: "int", min: 0 },
    { name: "minAmount", label: "Amount ≥", type: "money", placeholder: "0.00" },
    { name: "maxAmount", label: "Amount ≤", type: "money" },
    { name: "paused", label: "Debits", type: "select", options: [{ value: "false", label: "active only" }, { value: "true", label: "paused only" }], emptyLabel: "any" },
  ];

  const COLUMNS = [
    { label: "Plan", get: (r) => h("div", null, RM.plans.planLink(r.planId), h("div", { class: "muted small" }, "order " + r.orderNo)), cls: "nowrap" },
    { label: "Funder / product", get: (r) => h("div", null, r.funderId, h("div", { class: "muted small" }, r.productCode + " · " + r.bizType)) },
    { label: "Customer", get: (r) => r.customerId },
    { label: "Overdue since", get: (r) => r.overdueSince || "—", cls: "nowrap" },
    { label: "Days", get: (r) => h("span", { class: "late" }, String(r.overdueDays)), num: true },
    { label: "Aging", get: (r) => RM.plans.agingBadge(r.aging) },
    { label: "Periods", get: (r) => h("span", { class: "small" }, (r.overduePeriods || []).map((n) => "#" + n).join(", ") || "—") },
    { label: "Overdue amount", get: (r) => h("strong", null, m(r.overdueAmount)), num: true },
    { label: "of it penalty", get: (r) => m(r.overduePenalty), num: true },
    { label: "Debits", get: (r) => (r.paused ? RM.badge("PAUSED") : RM.badge("ACTIVE")) },
    {
      label: "",
      get: (r) =>
        h(
          "div",
          { class: "row-actions" },
          RM.plans.pauseButton(r.planId, r.paused ? "PAUSED" : "ACTIVE", () => RM.render(), true),
          RM.link("#/plans/" + encodeURIComponent(r.planId) + "?tab=actions", "Actions", "btn btn-small"),
        ),
    },
  ];

  function footer(rows) {
    return ["This page", "", "", "", "", "", "", m(RM.decSum(rows.map((r) => r.overdueAmount))), m(RM.decSum(rows.map((r) => r.overduePenalty))), "", ""];
  }

  // ------------------------------------------------------------------ accrual run

  // ------------------------------------------------------------------ page

  RM.route(
    "/collection",
    async (el, _params, query) => {
      const panel = RM.runs.launcher({
        title: "Accrual run",
        endpoint: "/fees/accrual-runs",
        buttonLabel: "Run accrual now",
        buttonTitle: "Accrue overdue penalty and late fees through today on every node's partitions; running it twice a day changes nothing",
        doneNote: "Refresh the list to see the new figures.",
        tone: { failed: "chip-err", changed: "chip-ok", entries: "chip-accent" },
        state: runState,
      });
      const stats = h("div", { class: "stat-row" });
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Collection"), panel.button, h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        h("p", { class: "muted" }, "Plans with an installment past due and unpaid (active and paused), most days overdue first. Amounts are as of the last accrual."),
        panel.el,
        stats,
      ]);
      const res = await RM.listPage(
        el,
        { api: "/overdue", hashPath: "/collection", filters: FILTERS, columns: COLUMNS, footer, rowClass: (r) => (r.paused ? "row-paused" : undefined), empty: "No overdue plan matches these filters" },
        query,
      );
      const pausedHere = res.rows.filter((r) => r.paused).length;
      RM.append(stats, [
        RM.stat("Overdue plans", String(res.total), Object.keys(query).some((k) => k !== "page" && k !== "pageSize") ? "matching the filters" : "all"),
        RM.stat("Overdue amount", h("span", { class: res.total ? "late" : undefined }, m(res.totalAmount)), "total of every matching plan"),
        RM.stat("This page", m(RM.decSum(res.rows.map((r) => r.overdueAmount))), res.rows.length + " plans · " + pausedHere + " paused"),
      ]);
    },
    "collection",
  );
})();
