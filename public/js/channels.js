/* Channels: capabilities, limits, fees, the rolling success rate, the circuit breaker and today's debit attempts (the cluster's view when Redis is shared). */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;

  const LIMIT_LABELS = { perTransaction: "per transaction", perDay: "per day", perCardPerDay: "per card per day" };

  function limitsCell(limits) {
    const keys = Object.keys(limits || {});
    if (!keys.length) return h("span", { class: "muted" }, "none");
    return h(
      "div",
      { class: "small" },
      keys.map((k) => {
        const v = limits[k];
        // perCardPerDay is a count of debits; the others are amounts (decimal strings).
        const shown = typeof v === "number" ? v + (k === "perCardPerDay" ? " debits" : "") : RM.money(v);
        return h("div", { class: "nowrap" }, h("span", { class: "muted" }, (LIMIT_LABELS[k] || k) + " "), shown);
      }),
    );
  }

  function feesCell(fees) {
    const f = fees || {};
    const parts = [];
    if (f.fixed !== undefined) parts.push(RM.money(f.fixed) + " fixed");
    if (f.rate !== undefined) parts.push(f.rate + " of amount");
    if (f.min !== undefined) parts.push("min " + RM.money(f.min));
    if (f.max !== undefined) parts.push("max " + RM.money(f.max));
    for (const k of Object.keys(f)) if (!["fixed", "rate", "min", "max"].includes(k)) parts.push(k + " " + f[k]);
    return parts.length ? h("div", { class: "small" }, parts.map((p) => h("div", { class: "nowrap" }, p))) : h("span", { class: "muted" }, "free");
  }

  function rateCell(rate) {
    if (rate === null || rate === undefined) return h("span", { class: "muted", title: "No debits in the rolling window yet" }, "no data");
    const pct = Math.round(rate * 1000) / 10;
    return h(
      "div",
      { class: "rate" },
      h("div", { class: "rate-bar" }, h("div", { class: "rate-fill" + (pct < 80 ? " rate-low" : ""), style: "width:" + Math.max(0, Math.min(100, pct)) + "%" })),
      h("span", { class: pct < 80 ? "err-text" : undefined }, pct + "%"),
    );
  }

  const COLUMNS = [
    { label: "Channel", get: (c) => h("strong", null, c.code) },
    { label: "Breaker", get: (c) => RM.badge(c.breaker) },
    { label: "Success rate", get: (c) => h("div", null, rateCell(c.successRate), c.successRateAttempts ? h("div", { class: "small muted" }, "last " + c.successRateAttempts + " attempts") : null) },
    { label: "Attempts today", get: (c) => (c.attemptsToday === null || c.attemptsToday === undefined ? h("span", { class: "muted" }, "—") : String(c.attemptsToday)) },
    { label: "Capabilities", get: (c) => h("div", { class: "chips" }, (c.capabilities || []).map((x) => h("span", { class: "chip" }, x))) },
    { label: "Limits", get: (c) => limitsCell(c.limits) },
    { label: "Fees", get: (c) => feesCell(c.fees) },
  ];

  RM.route(
    "/channels",
    async (el) => {
      RM.append(el, [h("div", { class: "page-head" }, h("h1", null, "Channels"), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")), h("div", { class: "loading" }, "Loading…")]);
      const rows = await RM.api("GET", "/channels");
      el.querySelector(".loading").remove();
      const open = rows.filter((c) => c.breaker !== "CLOSED");
      RM.append(el, [
        h(
          "p",
          { class: "muted" },
          "Debits are routed by fee, limits and health. A channel whose breaker is OPEN gets no new debits until a HALF_OPEN probe succeeds. ",
          rows.some((c) => c.healthScope === "PROCESS")
            ? "Success rates and breakers shown are the view of one node (" + (RM.health ? RM.health.nodeID : "this node") + "): the whole system in embedded mode; in a cluster, Redis is not reachable and each executor routes by its own view until it is."
            : "Success rates, breakers and today's attempts are shared by every executor of the cluster.",
        ),
        open.length ? h("div", { class: "note note-warn" }, "Breaker not closed: " + open.map((c) => c.code + " " + c.breaker).join(", ") + ".") : null,
        RM.table(COLUMNS, rows, { empty: "No channels configured", rowClass: (c) => (c.breaker === "OPEN" ? "row-failed" : c.breaker === "HALF_OPEN" ? "row-attention" : undefined) }),
      ]);
    },
    "channels",
  );
})();
