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

  const REFRESH_MS = 1000;

  /** The accrual run started from this page: shown again (and still polled) after a re-render. */
  let lastRun = null;

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

  function counters(totals) {
    // Partition counts are in the progress bar; the rest are the job's own counters.
    const keys = Object.keys(totals || {}).filter((k) => !/^partitions/.test(k) && k !== "running" && k !== "done" && k !== "pending");
    if (!keys.length) return h("span", { class: "muted small" }, "no partition has reported yet");
    const tone = { failed: "chip-err", changed: "chip-ok", entries: "chip-accent" };
    return h(
      "div",
      { class: "chips" },
      keys.map((k) => h("span", { class: "chip" + (totals[k] && tone[k] ? " " + tone[k] : "") }, (RM.runs ? RM.runs.labelOf(k) : k) + " " + totals[k])),
    );
  }

  function runPanel() {
    const box = h("div", { class: "run-panel" });
    let timer = null;
    let stopped = false;
    RM.onLeave(() => {
      stopped = true;
      if (timer) window.clearTimeout(timer);
    });

    function draw(note) {
      RM.clear(box);
      if (!lastRun) return;
      const r = lastRun;
      RM.append(box, [
        h(
          "div",
          { class: "run-head" },
          h("strong", null, "Accrual run "),
          RM.link("#/runs/" + encodeURIComponent(r.runId), r.runId, "mono small"),
          RM.badge(r.status || "RUNNING"),
          h("span", { class: "muted small" }, "started " + RM.dt(r.startedAt) + (r.finishedAt ? " · finished " + RM.dt(r.finishedAt) : "")),
          note ? h("span", { class: "muted small" }, note) : null,
        ),
        RM.runs ? RM.runs.progressBar(r, false) : null,
        counters(r.totals),
      ]);
    }

    async function tick() {
      timer = null;
      if (stopped || !box.isConnected || !lastRun) return;
      try {
        const next = await RM.api("GET", "/runs/" + encodeURIComponent(lastRun.runId));
        if (stopped) return;
        lastRun = next;
        draw(next.status === "RUNNING" ? "refreshing every second…" : null);
        if (next.status === "RUNNING") timer = window.setTimeout(tick, REFRESH_MS);
        else if (next.status) RM.showInfo("Accrual run " + next.runId + " " + String(next.status).toLowerCase() + ". Refresh the list to see the new figures.");
      } catch (err) {
        if (stopped) return;
        draw("auto-refresh stopped (" + (err.code || "error") + ")");
        if (err.status !== 401) RM.showError(err);
      }
    }

    function follow(run) {
      lastRun = run;
      draw("refreshing every second…");
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(tick, run.status && run.status !== "RUNNING" ? 0 : REFRESH_MS);
    }

    if (lastRun) {
      draw(lastRun.status === "RUNNING" ? "refreshing every second…" : null);
      if (lastRun.status === "RUNNING") timer = window.setTimeout(tick, 0);
    }
    return { el: box, follow };
  }

  function accrualButton(panel) {
    const btn = RM.guard(h("button", { type: "button", class: "btn" }, "Run accrual now"), "ops");
    btn.title = btn.title || "Accrue overdue penalty and late fees through today on every node's partitions; running it twice a day changes nothing";
    btn.addEventListener("click", async () => {
      if (lastRun && lastRun.status === "RUNNING" && !window.confirm("Accrual run " + lastRun.runId + " is still running. Start another one?")) return;
      await RM.busy(btn, async () => {
        try {
          const run = await RM.api("POST", "/fees/accrual-runs", { body: {} });
          panel.follow(run);
        } catch (err) {
          RM.showError(err);
        }
      });
    });
    return btn;
  }

  // ------------------------------------------------------------------ page

  RM.route(
    "/collection",
    async (el, _params, query) => {
      const panel = runPanel();
      const stats = h("div", { class: "stat-row" });
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Collection"), accrualButton(panel), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
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
