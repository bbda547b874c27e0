/*
 * Messages (短信节点): the notifier's message log with every filter of GET /messages, counts by status
 * (GET /messages-stats, for the filtered date or overall), and "Run reminder scan now" with the run's
 * progress polled once a second until it is no longer RUNNING (stopped when the page is left).
 * Numbers are shown masked, as stored: the notifier never keeps a full mobile number.
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;

  const REFRESH_MS = 1000;
  const STATUSES = ["SCHEDULED", "SENDING", "SENT", "FAILED", "SUPPRESSED"];
  const TRIGGERS = ["BEFORE_DUE", "DUE", "OVERDUE", "DEBIT_SUCCESS", "DEBIT_FAILURE"];
  const TONE = { SENT: "ok", FAILED: "err", SUPPRESSED: "warn", SCHEDULED: "accent" };

  /** The scan run started from this page: shown again (and still polled) after a re-render. */
  let lastRun = null;

  const FILTERS = [
    { name: "planId", label: "Plan" },
    { name: "customerId", label: "Customer" },
    { name: "status", label: "Status", type: "select", options: STATUSES, emptyLabel: "any" },
    { name: "trigger", label: "Trigger", type: "select", options: TRIGGERS, emptyLabel: "any" },
    { name: "date", label: "Date", type: "date" },
  ];

  const COLUMNS = [
    { label: "Date", get: (r) => r.date, cls: "nowrap" },
    { label: "Trigger", get: (r) => h("span", { class: "small" }, r.trigger) },
    { label: "Plan", get: (r) => h("div", null, RM.plans ? RM.plans.planLink(r.planId) : r.planId, h("div", { class: "muted small" }, "period " + r.period + (r.tradeNo ? " · trade " + r.tradeNo : ""))), cls: "nowrap" },
    { label: "Customer", get: (r) => h("div", null, r.customerId, h("div", { class: "muted small mono" }, r.toMasked || "")) },
    { label: "Text", get: (r) => h("span", { class: "small" }, r.text) },
    { label: "Status", get: (r) => h("div", null, RM.badge(r.status, TONE[r.status]), r.reason ? h("div", { class: "muted small" }, r.reason) : null) },
    {
      label: "When",
      get: (r) =>
        h(
          "div",
          { class: "small" },
          r.sentAt ? "sent " + RM.dt(r.sentAt) : r.status === "SCHEDULED" ? "not before " + RM.dt(r.scheduledFor) : "made " + RM.dt(r.createdAt),
          r.error ? h("div", { class: "late" }, r.error) : null,
        ),
      cls: "nowrap",
    },
    { label: "Provider", get: (r) => h("span", { class: "muted small" }, r.provider ? r.provider + (r.providerRef ? " · " + r.providerRef : "") + " · " + r.attempts + "×" : "—") },
  ];

  // ------------------------------------------------------------------ scan run

  function counters(totals) {
    const keys = Object.keys(totals || {}).filter((k) => !/^partitions/.test(k));
    if (!keys.length) return h("span", { class: "muted small" }, "no partition has reported yet");
    const tone = { failed: "chip-err", sent: "chip-ok", created: "chip-accent", suppressed: "chip-warn" };
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
          h("strong", null, "Reminder scan "),
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
        else if (next.status) RM.showInfo("Reminder scan " + next.runId + " " + String(next.status).toLowerCase() + ". Refresh the list to see new messages.");
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

  function runButton(panel) {
    const btn = RM.guard(h("button", { type: "button", class: "btn" }, "Run reminder scan now"), "ops");
    btn.title = btn.title || "Scan every node's partitions for the reminders due so far today; a second scan the same day creates nothing";
    btn.addEventListener("click", async () => {
      if (lastRun && lastRun.status === "RUNNING" && !window.confirm("Reminder scan " + lastRun.runId + " is still running. Start another one?")) return;
      await RM.busy(btn, async () => {
        try {
          panel.follow(await RM.api("POST", "/reminders/runs", { body: {} }));
        } catch (err) {
          RM.showError(err);
        }
      });
    });
    return btn;
  }

  // ------------------------------------------------------------------ page

  RM.route(
    "/messages",
    async (el, _params, query) => {
      const panel = runPanel();
      const stats = h("div", { class: "stat-row" });
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Messages"), runButton(panel), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        h(
          "p",
          { class: "muted" },
          "Reminders before due, on the due day and when overdue, and debit results, as the REMINDER rules decide (quiet hours, a daily cap per borrower, suppression once the installment is paid). Newest first.",
        ),
        panel.el,
        stats,
      ]);
      const counts = RM.api("GET", "/messages-stats", { query: query.date ? { date: query.date } : {} }).catch(() => null);
      const res = await RM.listPage(el, { api: "/messages", hashPath: "/messages", filters: FILTERS, columns: COLUMNS, empty: "No message matches these filters" }, query);
      const c = await counts;
      if (c) {
        RM.append(stats, [
          RM.stat("Messages", String(c.total), query.date ? "on " + query.date : "all dates"),
          ...STATUSES.filter((s) => s !== "SENDING" || c.byStatus[s]).map((s) => RM.stat(s.charAt(0) + s.slice(1).toLowerCase(), h("span", { class: c.byStatus[s] && s === "FAILED" ? "late" : undefined }, String(c.byStatus[s] || 0)))),
          RM.stat("Matching", String(res.total), "with these filters"),
        ]);
      }
    },
    "messages",
  );
})();
