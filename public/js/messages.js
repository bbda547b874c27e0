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

  const STATUSES = ["SCHEDULED", "SENDING", "SENT", "FAILED", "SUPPRESSED"];
  const TRIGGERS = ["BEFORE_DUE", "DUE", "OVERDUE", "DEBIT_SUCCESS", "DEBIT_FAILURE"];
  const TONE = { SENT: "ok", FAILED: "err", SUPPRESSED: "warn", SCHEDULED: "accent" };

  /** The scan run started from this page: shown again (and still polled) after a re-render. */
  const runState = { run: null }; // the last run started from this page, kept between renders

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

  // ------------------------------------------------------------------ page

  RM.route(
    "/messages",
    async (el, _params, query) => {
      const panel = RM.runs.launcher({
        title: "Reminder scan",
        endpoint: "/reminders/runs",
        buttonLabel: "Run reminder scan now",
        buttonTitle: "Scan every node's partitions for the reminders due so far today; a second scan the same day creates nothing",
        doneNote: "Refresh the list to see new messages.",
        tone: { failed: "chip-err", sent: "chip-ok", created: "chip-accent", suppressed: "chip-warn" },
        state: runState,
      });
      const stats = h("div", { class: "stat-row" });
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Messages"), panel.button, h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
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
