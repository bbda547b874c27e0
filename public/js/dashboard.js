/*
 * Dashboard: counts, plan principal by funder (bar), plans by repayment method (pie), orders per
 * creation day (trend), the business clock and node health — computed client-side from the list
 * endpoints; the day's debit results (by state, collected amount by channel, success rate) and
 * payouts from /trades-stats. Without Chart.js the same numbers are shown as tables.
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;

  const MAX_PAGES = 4; // × 500 rows
  const PALETTE = ["#2f6fde", "#22a06b", "#e2a03f", "#d6455d", "#8a63d2", "#1fa2b8", "#7a869a", "#c25ca8", "#5b8c2a", "#b5651d"];

  function chartsAvailable() {
    return typeof Chart === "function";
  }

  function groupSum(rows, keyOf, amountOf) {
    const map = new Map();
    for (const r of rows) {
      const k = keyOf(r) || "—";
      if (!map.has(k)) map.set(k, []);
      map.get(k).push(amountOf(r));
    }
    return Array.from(map.entries())
      .map(([k, list]) => ({ key: k, count: list.length, sum: RM.decSum(list) }))
      .sort((a, b) => (b.count - a.count) || (a.key < b.key ? -1 : 1));
  }

  function ordersPerDay(orders) {
    const counts = new Map();
    for (const o of orders) {
      const d = RM.day(o.createdAt);
      counts.set(d, (counts.get(d) || 0) + 1);
    }
    const days = Array.from(counts.keys()).sort();
    if (days.length < 2) return days.map((d) => ({ day: d, count: counts.get(d) }));
    // Fill the gaps so the trend shows quiet days as zero (when the span is reasonable).
    const first = new Date(days[0] + "T00:00:00Z");
    const last = new Date(days[days.length - 1] + "T00:00:00Z");
    const span = Math.round((last - first) / 86400000);
    if (span > 366) return days.map((d) => ({ day: d, count: counts.get(d) }));
    const out = [];
    for (let i = 0; i <= span; i++) {
      const d = new Date(first.getTime() + i * 86400000).toISOString().slice(0, 10);
      out.push({ day: d, count: counts.get(d) || 0 });
    }
    return out;
  }

  function chartCard(title, subtitle, canvasFn, fallbackTable) {
    const card = h("section", { class: "card chart-card" }, h("h2", null, title), subtitle ? h("p", { class: "muted small" }, subtitle) : null);
    if (chartsAvailable()) {
      const canvas = h("canvas", { role: "img", "aria-label": title });
      card.appendChild(h("div", { class: "chart-box" }, canvas));
      try {
        canvasFn(canvas);
      } catch (err) {
        RM.showError(err);
      }
      card.appendChild(h("details", { class: "chart-data" }, h("summary", null, "Numbers"), fallbackTable));
    } else {
      card.appendChild(fallbackTable);
    }
    return card;
  }

  function barByFunder(byFunder) {
    return chartCard(
      "Plan principal by funder",
      byFunder.length ? byFunder.length + " funders" : "No plans yet",
      (canvas) => {
        RM.trackChart(
          new Chart(canvas, {
            type: "bar",
            data: {
              labels: byFunder.map((f) => f.key),
              datasets: [{ label: "Principal", data: byFunder.map((f) => RM.chartNumber(f.sum)), backgroundColor: PALETTE[0], borderRadius: 3 }],
            },
            options: {
              animation: false,
              maintainAspectRatio: false,
              plugins: {
                legend: { display: false },
                // The exact decimal string, not the float used for the bar's height.
                tooltip: { callbacks: { label: (ctx) => "Principal " + RM.money(byFunder[ctx.dataIndex].sum) + " · " + byFunder[ctx.dataIndex].count + " plans" } },
              },
              scales: { y: { beginAtZero: true } },
            },
          }),
        );
      },
      RM.table(
        [
          { label: "Funder", get: (f) => f.key },
          { label: "Plans", get: (f) => String(f.count), num: true },
          { label: "Principal", get: (f) => RM.money(f.sum), num: true },
        ],
        byFunder,
        { empty: "No plans" },
      ),
    );
  }

  function pieByMethod(byMethod) {
    return pieCard("Plans by repayment method", "Method", "Plans", "Principal", byMethod, "No plans");
  }

  /** A pie of counts with a table fallback: key, count and summed amount per group. */
  function pieCard(title, keyLabel, countLabel, sumLabel, groups, empty) {
    const byMethod = groups;
    return chartCard(
      title,
      null,
      (canvas) => {
        RM.trackChart(
          new Chart(canvas, {
            type: "pie",
            data: {
              labels: byMethod.map((m) => m.key),
              datasets: [{ data: byMethod.map((m) => m.count), backgroundColor: byMethod.map((_m, i) => PALETTE[i % PALETTE.length]) }],
            },
            options: { animation: false, maintainAspectRatio: false, plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } } },
          }),
        );
      },
      RM.table(
        [
          { label: keyLabel, get: (m) => m.key },
          { label: countLabel, get: (m) => String(m.count), num: true },
          { label: sumLabel, get: (m) => RM.money(m.sum), num: true },
        ],
        byMethod,
        { empty },
      ),
    );
  }

  /**
   * Servicing at a glance: overdue plans and amount, by aging bucket; reconciliation discrepancies
   * still open; webhook deliveries that gave up; today's reminder messages.
   */
  function servicingRow(overdue, discrepancies, webhooks, messages) {
    const dash = "—";
    const sent = messages && messages.byStatus ? messages.byStatus.SENT || 0 : null;
    return h(
      "div",
      { class: "stat-row" },
      RM.stat("Overdue plans", overdue ? String(overdue.total) : dash, overdue ? RM.link("#/collection", "collection list") : "unavailable"),
      RM.stat("Overdue amount", overdue ? RM.money(overdue.totalAmount) : dash, "penalties included"),
      RM.stat("Open discrepancies", discrepancies ? String(discrepancies.total) : dash, discrepancies ? RM.link("#/reconciliation", "reconciliation") : "unavailable"),
      RM.stat("Webhooks failed", webhooks ? String(webhooks.total) : dash, webhooks ? (webhooks.total ? h("span", { class: "late" }, "redeliver by hand") : "none given up") : "unavailable"),
      RM.stat("Messages today", messages ? String(messages.total ?? dash) : dash, sent === null ? "unavailable" : sent + " sent"),
    );
  }

  function trendByDay(perDay) {
    return chartCard(
      "Orders per day",
      "By creation day (business time zone)",
      (canvas) => {
        RM.trackChart(
          new Chart(canvas, {
            type: "line",
            data: {
              labels: perDay.map((d) => d.day),
              datasets: [{ label: "Orders", data: perDay.map((d) => d.count), borderColor: PALETTE[1], backgroundColor: "rgba(34,160,107,0.15)", fill: true, tension: 0.25, pointRadius: 3 }],
            },
            options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
          }),
        );
      },
      RM.table(
        [
          { label: "Day", get: (d) => d.day },
          { label: "Orders", get: (d) => String(d.count), num: true },
        ],
        perDay.filter((d) => d.count > 0).reverse(),
        { empty: "No orders" },
      ),
    );
  }

  function clockCard(c) {
    if (!c) return h("section", { class: "card" }, h("h2", null, "Business clock"), h("p", { class: "muted" }, "Unavailable"));
    return h(
      "section",
      { class: "card" },
      h("h2", null, "Business clock ", RM.link("#/clock", "manage", "small")),
      RM.kv([
        ["Business date", h("strong", null, c.businessDate)],
        ["Local time", c.localTime + " " + c.timeZone],
        ["Now (UTC)", h("span", { class: "mono small" }, c.now)],
        ["State", c.frozen ? RM.badge("FROZEN", "warn") : RM.badge("RUNNING", "ok")],
        ["Test clock", c.testClock ? RM.badge("ENABLED", "warn") : RM.badge("OFF", "muted")],
      ]),
    );
  }

  function healthCard(hl) {
    if (!hl) return h("section", { class: "card" }, h("h2", null, "Node health"), h("p", { class: "muted" }, "Unavailable"));
    const mins = Math.floor((hl.uptimeSeconds || 0) / 60);
    return h(
      "section",
      { class: "card" },
      h("h2", null, "Node health"),
      RM.kv([
        ["Status", RM.badge(hl.status, hl.status === "ok" ? "ok" : "err")],
        ["Node", h("span", { class: "mono" }, hl.nodeID)],
        ["Version", hl.version],
        ["Mode / store", hl.mode + " / " + hl.store],
        ["Uptime", mins >= 60 ? Math.floor(mins / 60) + " h " + (mins % 60) + " min" : mins + " min " + ((hl.uptimeSeconds || 0) % 60) + " s"],
        ["Services", h("div", { class: "chips" }, (hl.services || []).map((s) => h("span", { class: "chip" }, s)))],
      ]),
    );
  }

  // ---------------------------------------------------------------- debit & payout statistics

  const STATE_ORDER = ["INIT", "SENDING", "SUCCESS", "FAILED", "UNKNOWN"];
  const STATE_COLOR = { INIT: "#7a869a", SENDING: "#2f6fde", SUCCESS: "#22a06b", FAILED: "#d6455d", UNKNOWN: "#e2a03f" };

  /** Buckets "KIND:STATE" and "KIND:STATE:CHANNEL" → { byState: {STATE: {count, amount}}, byChannel: {STATE: {CH: {count, amount}}} } of one kind. */
  function bucketsOf(stats, kind) {
    const byState = {};
    const byChannel = {};
    for (const key of Object.keys((stats && stats.buckets) || {})) {
      const parts = key.split(":");
      if (parts[0] !== kind) continue;
      const b = stats.buckets[key];
      if (parts.length === 2) byState[parts[1]] = b;
      else if (parts.length >= 3) {
        byChannel[parts[1]] = byChannel[parts[1]] || {};
        byChannel[parts[1]][parts.slice(2).join(":")] = b;
      }
    }
    return { byState, byChannel };
  }

  function debitStats(stats, chosenDate) {
    const dateInput = h("input", { type: "date", name: "date", value: chosenDate || (stats && stats.date) || "" });
    const head = h(
      "div",
      { class: "card-head" },
      h("h2", null, "Debit & payout statistics", stats ? " · " + stats.date : ""),
      h(
        "form",
        {
          class: "inline-form compact",
          onsubmit: (e) => {
            e.preventDefault();
            RM.go("/dashboard", dateInput.value ? { date: dateInput.value } : {});
          },
        },
        dateInput,
        h("button", { type: "submit", class: "btn btn-small" }, "Show"),
        chosenDate ? h("button", { type: "button", class: "btn btn-small", onclick: () => RM.go("/dashboard", {}) }, "Today") : null,
      ),
    );
    const card = h("section", { class: "card", id: "debit-stats" }, head);
    if (!stats) {
      card.appendChild(h("p", { class: "muted" }, "Unavailable."));
      return card;
    }
    const debit = bucketsOf(stats, "DEBIT");
    const payout = bucketsOf(stats, "PAYOUT");
    const cnt = (b, st) => (b.byState[st] ? b.byState[st].count : 0);
    const amt = (b, st) => (b.byState[st] ? b.byState[st].amount : "0.00");
    const debitTotal = STATE_ORDER.concat(Object.keys(debit.byState).filter((s) => !STATE_ORDER.includes(s))).reduce((a, st) => a + cnt(debit, st), 0);
    const ok = cnt(debit, "SUCCESS");
    const failed = cnt(debit, "FAILED");
    const open = cnt(debit, "INIT") + cnt(debit, "SENDING") + cnt(debit, "UNKNOWN");
    const finished = ok + failed;
    const rate = finished ? Math.round((ok / finished) * 1000) / 10 + "%" : "—";

    card.appendChild(
      h(
        "div",
        { class: "stat-row" },
        RM.stat("Debits", String(debitTotal), RM.link("#/trades?kind=DEBIT&date=" + stats.date, "view trades")),
        RM.stat("Success rate", rate, finished ? ok + " of " + finished + " finished debits" : "no finished debit yet"),
        RM.stat("Collected", RM.money(amt(debit, "SUCCESS")), ok + " successful debits"),
        RM.stat("Failed", String(failed), RM.money(amt(debit, "FAILED"))),
        RM.stat("Unknown / in flight", String(open), cnt(debit, "UNKNOWN") ? h("span", { class: "late" }, cnt(debit, "UNKNOWN") + " unknown — being queried") : "none unknown"),
        RM.stat("Payouts paid", String(cnt(payout, "SUCCESS")), RM.money(amt(payout, "SUCCESS")) + (cnt(payout, "FAILED") ? " · " + cnt(payout, "FAILED") + " failed" : "")),
      ),
    );

    const states = STATE_ORDER.concat(Object.keys(debit.byState).filter((s) => !STATE_ORDER.includes(s))).map((st) => ({ state: st, count: cnt(debit, st), amount: amt(debit, st) }));
    const succ = debit.byChannel.SUCCESS || {};
    const byChannel = Object.keys(succ)
      .sort()
      .map((ch) => ({ channel: ch, count: succ[ch].count, amount: succ[ch].amount }));

    const bar = chartCard(
      "Debits by state",
      debitTotal ? debitTotal + " debits on " + stats.date : "No debits on " + stats.date,
      (canvas) => {
        RM.trackChart(
          new Chart(canvas, {
            type: "bar",
            data: {
              labels: states.map((s) => s.state),
              datasets: [{ label: "Debits", data: states.map((s) => s.count), backgroundColor: states.map((s) => STATE_COLOR[s.state] || PALETTE[6]), borderRadius: 3 }],
            },
            options: {
              animation: false,
              maintainAspectRatio: false,
              plugins: { legend: { display: false }, tooltip: { callbacks: { label: (ctx) => states[ctx.dataIndex].count + " debits · " + RM.money(states[ctx.dataIndex].amount) } } },
              scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
            },
          }),
        );
      },
      RM.table(
        [
          { label: "State", get: (s) => RM.badge(s.state) },
          { label: "Debits", get: (s) => String(s.count), num: true },
          { label: "Amount", get: (s) => RM.money(s.amount), num: true },
        ],
        states,
        { empty: "No debits" },
      ),
    );
    const pie = chartCard(
      "Collected by channel",
      byChannel.length ? "Successful debit amount · " + RM.money(amt(debit, "SUCCESS")) : "No successful debit on " + stats.date,
      (canvas) => {
        RM.trackChart(
          new Chart(canvas, {
            type: "pie",
            data: {
              labels: byChannel.map((c) => c.channel),
              // Only the slice sizes are floats; labels and tooltips show the exact strings.
              datasets: [{ data: byChannel.map((c) => RM.chartNumber(c.amount)), backgroundColor: byChannel.map((_c, i) => PALETTE[i % PALETTE.length]) }],
            },
            options: {
              animation: false,
              maintainAspectRatio: false,
              plugins: {
                legend: { position: "bottom", labels: { boxWidth: 12 } },
                tooltip: { callbacks: { label: (ctx) => byChannel[ctx.dataIndex].channel + ": " + RM.money(byChannel[ctx.dataIndex].amount) + " · " + byChannel[ctx.dataIndex].count + " debits" } },
              },
            },
          }),
        );
      },
      RM.table(
        [
          { label: "Channel", get: (c) => c.channel },
          { label: "Debits", get: (c) => String(c.count), num: true },
          { label: "Collected", get: (c) => RM.money(c.amount), num: true },
        ],
        byChannel,
        { empty: "No successful debits" },
      ),
    );
    card.appendChild(h("div", { class: "grid-charts nested" }, bar, pie));
    return card;
  }

  RM.route(
    "/dashboard",
    async (el, _params, query) => {
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Dashboard"), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        h("div", { class: "loading" }, "Loading…"),
      ]);
      const statsDate = /^\d{4}-\d{2}-\d{2}$/.test(query.date || "") ? query.date : undefined;
      const [ordersR, plansR, rulesR, clockR, healthR, statsR, overdueR, discR, hooksR] = await Promise.allSettled([
        RM.fetchAll("/orders", {}, MAX_PAGES),
        RM.fetchAll("/plans", {}, MAX_PAGES),
        RM.api("GET", "/rules", { query: { pageSize: 1 } }),
        RM.api("GET", "/test-clock"),
        RM.api("GET", "/health"),
        RM.api("GET", "/trades-stats", { query: { date: statsDate } }),
        RM.api("GET", "/overdue", { query: { pageSize: 500 } }),
        RM.api("GET", "/discrepancies", { query: { status: "OPEN", pageSize: 1 } }),
        RM.api("GET", "/webhooks/deliveries", { query: { status: "FAILED", pageSize: 1 } }),
      ]);
      for (const r of [ordersR, plansR, rulesR, clockR, healthR, statsR]) if (r.status === "rejected" && r.reason && r.reason.status !== 401) RM.showError(r.reason);
      if ([ordersR, plansR, rulesR, clockR].some((r) => r.status === "rejected" && r.reason && r.reason.status === 401)) return;
      const orders = ordersR.status === "fulfilled" ? ordersR.value : null;
      const plans = plansR.status === "fulfilled" ? plansR.value : null;
      const rules = rulesR.status === "fulfilled" ? rulesR.value : null;
      const clock = clockR.status === "fulfilled" ? clockR.value : null;
      const health = healthR.status === "fulfilled" ? healthR.value : null;
      const stats = statsR.status === "fulfilled" ? statsR.value : null;
      if (clock) RM.setClock(clock);
      el.querySelector(".loading").remove();

      const planRows = plans ? plans.rows : [];
      const today = clock ? clock.businessDate : null;
      const active = planRows.filter((p) => p.status === "ACTIVE");
      const dueToday = today ? active.filter((p) => p.nextDueDate === today) : [];
      const overdueNext = today ? active.filter((p) => p.nextDueDate && p.nextDueDate < today) : [];
      const dash = "—";

      el.appendChild(
        h(
          "div",
          { class: "stat-row" },
          RM.stat("Orders", orders ? String(orders.total) : dash, orders ? RM.link("#/orders", "view all") : "unavailable"),
          RM.stat("Repayment plans", plans ? String(plans.total) : dash, plans ? active.length + " active" + (plans.truncated ? " (of first " + planRows.length + ")" : "") : "unavailable"),
          RM.stat("Rule sets", rules ? String(rules.total) : dash, rules ? RM.link("#/rules", "configure") : "unavailable"),
          RM.stat("Principal in plans", plans ? RM.money(RM.decSum(planRows.map((p) => p.totals && p.totals.principal))) : dash, plans && plans.truncated ? "first " + planRows.length + " plans" : "all plans"),
          RM.stat("Due today", plans && today ? String(dueToday.length) : dash, plans && today ? RM.money(RM.decSum(dueToday.map((p) => p.nextDueAmount))) : ""),
          RM.stat("Past due", plans && today ? String(overdueNext.length) : dash, "active plans whose next unpaid installment fell due before today"),
        ),
      );

      if (!chartsAvailable()) {
        el.appendChild(
          h("div", { class: "note note-warn" }, "Charts are unavailable: /vendor/chart.js did not load (Chart.js is served by the gateway). The numbers are shown as tables instead."),
        );
      }
      const truncated = (orders && orders.truncated) || (plans && plans.truncated);
      if (truncated) {
        el.appendChild(
          h(
            "div",
            { class: "note" },
            "Charts are computed from the first " + MAX_PAGES * 500 + " rows of each list" + (orders ? " (orders: " + orders.rows.length + " of " + orders.total + ")" : "") + (plans ? " (plans: " + planRows.length + " of " + plans.total + ")" : "") + ".",
          ),
        );
      }

      const byFunder = groupSum(planRows, (p) => p.funderId, (p) => p.totals && p.totals.principal);
      const byMethod = groupSum(planRows, (p) => p.repaymentMethod, (p) => p.totals && p.totals.principal);
      const perDay = orders ? ordersPerDay(orders.rows) : [];
      el.appendChild(debitStats(stats, statsDate));
      const value = (r) => (r.status === "fulfilled" ? r.value : null);
      const overdue = value(overdueR);
      const msgR = await Promise.allSettled([RM.api("GET", "/messages-stats", { query: today ? { date: today } : {} })]);
      el.appendChild(servicingRow(overdue, value(discR), value(hooksR), value(msgR[0])));
      const byAging = overdue ? groupSum(overdue.rows, (r) => r.aging || "—", (r) => r.overdueAmount) : [];
      el.appendChild(h("div", { class: "grid-charts" }, barByFunder(byFunder), pieByMethod(byMethod), trendByDay(perDay)));
      el.appendChild(h("div", { class: "grid-charts" }, pieCard("Overdue plans by aging bucket", "Bucket", "Plans", "Overdue amount", byAging, "Nothing overdue")));
      el.appendChild(h("div", { class: "grid-3" }, clockCard(clock), healthCard(health)));
    },
    "dashboard",
  );
})();
