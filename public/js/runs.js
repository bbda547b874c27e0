/*
 * Runs: debit-slot and repair runs (scheduled or triggered by hand) with their totals, a form to
 * trigger a debit run, and the run detail with a progress bar, a per-partition table and a
 * once-a-second refresh while the run is RUNNING (stopped when the page is left).
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;
  const S = RM.schedule;

  const REFRESH_MS = 1000;

  /** Counter labels, in display order; keys not listed here follow with their camelCase split. */
  const LABELS = {
    partitions: "Partitions",
    done: "Done",
    running: "Running",
    processed: "Processed",
    due: "Due",
    sent: "Sent",
    succeeded: "Succeeded",
    failed: "Failed",
    unknown: "Unknown",
    inFlight: "In flight",
    alreadyCollected: "Already collected",
    noBinding: "No binding",
    noChannel: "No channel",
    stopped: "Stopped",
    notInSlot: "Not in slot",
  };
  /** Counters worth a colour when not zero. */
  const TONE = { failed: "err", unknown: "warn", inFlight: "warn", noBinding: "warn", noChannel: "warn", succeeded: "ok", done: "ok", running: "accent" };

  function labelOf(key) {
    if (LABELS[key]) return LABELS[key];
    const s = String(key).replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function orderedKeys(obj) {
    const keys = Object.keys(obj || {});
    const known = Object.keys(LABELS).filter((k) => keys.includes(k));
    return known.concat(keys.filter((k) => !LABELS[k]).sort());
  }

  function runHref(runId) {
    return "#/runs/" + encodeURIComponent(runId);
  }

  /**
   * Finished partitions over partitions: done + failed partitions. A SKIPPED partition (its lease
   * was lost before it started) and a PENDING one (debits still in flight, tried again) are not
   * finished: their next holder runs them. Taken from the partition statuses when the run carries
   * them; otherwise from the ledger's totals (partitionsDone, partitionsFailed, partitionsSkipped).
   */
  function progressOf(run) {
    const parts = run.partitions ? Object.values(run.partitions) : [];
    if (parts.length) {
      let done = 0;
      let failed = 0;
      for (const p of parts) {
        if (p.status === "DONE") done++;
        else if (p.status === "FAILED") failed++;
      }
      const total = Math.max(parts.length, (run.totals && run.totals.partitions) || 0);
      return { finished: done + failed, done, failed, running: total - done - failed, total };
    }
    const t = run.totals || {};
    const total = t.partitions || 0;
    const doneN = Math.min(t.partitionsDone ?? t.done ?? 0, total);
    const failedN = Math.min(t.partitionsFailed ?? 0, total - doneN);
    return { finished: doneN + failedN, done: doneN, failed: failedN, running: total - doneN - failedN, total };
  }

  function progressBar(run, big) {
    const p = progressOf(run);
    const pct = p.total ? Math.round((p.finished / p.total) * 1000) / 10 : run.status === "RUNNING" ? 0 : 100;
    const donePct = p.total ? (p.done / p.total) * 100 : 0;
    const failPct = p.total ? (p.failed / p.total) * 100 : 0;
    return h(
      "div",
      { class: "progress" + (big ? " progress-big" : ""), title: p.finished + " of " + p.total + " partitions finished" },
      h(
        "div",
        { class: "progress-track" + (run.status === "RUNNING" ? " progress-live" : "") },
        h("div", { class: "progress-done", style: "width:" + donePct.toFixed(2) + "%" }),
        h("div", { class: "progress-failed", style: "width:" + failPct.toFixed(2) + "%" }),
      ),
      h("div", { class: "progress-label" }, p.total ? p.finished + " / " + p.total + " partitions · " + pct + "%" + (p.failed ? " · " + p.failed + " failed" : "") : run.status === "RUNNING" ? "waiting for partitions…" : "no partitions"),
    );
  }

  function scopeText(scope) {
    const s = scope || {};
    const parts = [s.bizType, s.funderId ? "funder " + s.funderId : null, s.productCode ? "product " + s.productCode : null].filter(Boolean);
    return parts.length ? parts.join(" · ") : "all plans";
  }

  function duration(run) {
    const a = Date.parse(run.startedAt);
    const b = Date.parse(run.finishedAt || run.updatedAt);
    if (!Number.isFinite(a) || !Number.isFinite(b) || b < a) return "—";
    const s = Math.round((b - a) / 1000);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  /** The non-zero totals as small labelled counters (a table cell). */
  function miniCounters(totals) {
    const skip = { partitions: 1, done: 1, running: 1, partitionsDone: 1, partitionsRunning: 1, partitionsFailed: 1, partitionsSkipped: 1, partitionsNotStarted: 1 };
    const keys = orderedKeys(totals).filter((k) => !skip[k] && totals[k]);
    if (!keys.length) return h("span", { class: "muted small" }, "nothing processed");
    return h(
      "div",
      { class: "chips" },
      keys.map((k) => h("span", { class: "chip" + (TONE[k] ? " chip-" + TONE[k] : "") }, labelOf(k) + " " + totals[k])),
    );
  }

  // ------------------------------------------------------------------ list + trigger form

  const FILTERS = [{ name: "job", label: "Job", type: "select", options: [{ value: "debitSlot", label: "debitSlot (debit slots)" }, { value: "repair", label: "repair (sweeps)" }, { value: "accrual", label: "accrual (overdue fees)" }, { value: "daily", label: "daily (transfers, remittances)" }], emptyLabel: "any" }];

  const COLUMNS = [
    { label: "Run", get: (r) => RM.link(runHref(r.runId), r.runId, "mono small"), cls: "nowrap" },
    { label: "Job", get: (r) => h("div", null, r.job, h("div", null, RM.badge(r.trigger))) },
    { label: "Slot / scope", get: (r) => h("div", { class: "nowrap" }, r.slotId ? r.slotId.replace("T", " ") : "—", h("div", { class: "muted small" }, r.job === "debitSlot" ? scopeText(r.scope) : "")) },
    { label: "Status", get: (r) => RM.badge(r.status) },
    { label: "Progress", get: (r) => progressBar(r, false), cls: "cell-progress" },
    { label: "Counters", get: (r) => miniCounters(r.totals || {}) },
    { label: "Started", get: (r) => RM.dt(r.startedAt), cls: "small nowrap" },
    { label: "Took", get: (r) => (r.finishedAt ? duration(r) : h("span", { class: "muted" }, duration(r) + "…")), cls: "small nowrap" },
  ];

  const TRIGGER_FIELDS = [
    { name: "slotTime", label: "Slot time (HH:mm)", placeholder: "12:00", hint: "The slot's wall time in the business zone; default: now. Trade numbers derive from it." },
    { name: "bizType", label: "Business type", type: "select", options: S.BIZ_TYPES, emptyLabel: "all" },
    { name: "funderId", label: "Funder", placeholder: "all" },
    { name: "productCode", label: "Product", placeholder: "all" },
    { name: "partitions", label: "Partitions", placeholder: "all, or 0,3,10-15", hint: "Comma-separated numbers or ranges" },
  ];

  /** "0, 3, 10-12" → [0, 3, 10, 11, 12]; null when malformed. */
  function parsePartitions(raw) {
    const out = new Set();
    for (const part of raw.split(",").map((s) => s.trim()).filter(Boolean)) {
      const mm = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
      if (!mm) return null;
      const a = Number.parseInt(mm[1], 10);
      const b = mm[2] !== undefined ? Number.parseInt(mm[2], 10) : a;
      if (b < a || b - a > 4096) return null;
      for (let i = a; i <= b; i++) out.add(i);
    }
    return out.size ? Array.from(out).sort((x, y) => x - y) : null;
  }

  function triggerForm() {
    const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Trigger run"), "ops");
    const form = h(
      "form",
      {
        class: "form",
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          const v = RM.readFields(form, TRIGGER_FIELDS);
          if (!v) return;
          const problems = [];
          if (v.slotTime !== undefined && !/^([01]\d|2[0-3]):[0-5]\d$/.test(v.slotTime)) problems.push({ field: "slotTime", message: "A time like 12:00 (24-hour HH:mm)" });
          if (v.partitions !== undefined) {
            const list = parsePartitions(v.partitions);
            if (!list) problems.push({ field: "partitions", message: "Numbers or ranges like 0,3,10-15" });
            else v.partitions = list;
          }
          if (problems.length) {
            RM.showFieldErrors(form, problems);
            return;
          }
          await RM.busy(submit, async () => {
            try {
              const run = await RM.api("POST", "/runs", { body: v });
              RM.flash("Run " + run.runId + " started for slot " + (run.slotId || "now") + " (" + scopeText(run.scope) + ").");
              RM.go("/runs/" + encodeURIComponent(run.runId));
            } catch (err) {
              RM.formError(form, err);
            }
          });
        },
      },
      RM.fieldGrid(TRIGGER_FIELDS, {}),
      h("ul", { class: "form-errors" }),
      h(
        "div",
        { class: "form-actions" },
        submit,
        h("span", { class: "muted small" }, "Every node running the executor runs its own partitions under the new run id; trades already collected for the slot are not sent twice."),
      ),
    );
    return h("details", { class: "card collapsible", open: RM.can("ops") || undefined }, h("summary", null, h("h2", null, "Trigger a debit run")), form);
  }

  RM.route(
    "/runs",
    async (el, _params, query) => {
      RM.append(el, [h("div", { class: "page-head" }, h("h1", null, "Runs"), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")), triggerForm()]);
      await RM.listPage(el, { api: "/runs", hashPath: "/runs", filters: FILTERS, columns: COLUMNS, empty: "No runs yet" }, query);
    },
    "runs",
  );

  // ------------------------------------------------------------------ detail

  function bigCounters(totals) {
    const keys = orderedKeys(totals);
    if (!keys.length) return h("p", { class: "muted" }, "No partition has reported yet.");
    return h(
      "div",
      { class: "counter-grid" },
      keys.map((k) => h("div", { class: "counter" + (TONE[k] && totals[k] ? " counter-" + TONE[k] : "") }, h("div", { class: "counter-value" }, String(totals[k])), h("div", { class: "counter-label" }, labelOf(k)))),
    );
  }

  function partitionTable(run, onlyBusy) {
    const entries = Object.keys(run.partitions || {})
      .map((k) => Object.assign({ partition: Number.parseInt(k, 10) }, run.partitions[k]))
      .sort((a, b) => a.partition - b.partition);
    const counterKeys = orderedKeys(Object.assign({}, ...entries.map((e) => e.counters || {})));
    const busy = (p) => p.status !== "DONE" || p.error || p.processed > 0 || Object.values(p.counters || {}).some((n) => n);
    const rows = onlyBusy ? entries.filter(busy) : entries;
    const cols = [
      { label: "Part.", get: (p) => String(p.partition), num: true },
      { label: "Status", get: (p) => RM.badge(p.status) },
      { label: "Processed", get: (p) => String(p.processed || 0), num: true },
    ]
      .concat(counterKeys.map((k) => ({ label: labelOf(k), get: (p) => String((p.counters && p.counters[k]) || 0), num: true })))
      .concat([
        { label: "Error", get: (p) => (p.error ? h("span", { class: "err-text small" }, p.error) : "—") },
        { label: "Node", get: (p) => h("span", { class: "small nowrap" }, p.nodeId || "—") },
      ]);
    const sum = (k) => String(rows.reduce((acc, p) => acc + ((p.counters && p.counters[k]) || 0), 0));
    const tableEl = RM.table(cols, rows, {
      empty: entries.length ? "Every partition finished without work (untick the filter to see them)" : "No partition has reported yet",
      rowClass: (p) => (p.status === "FAILED" ? "row-failed" : p.status === "RUNNING" ? "row-running" : undefined),
      footer: rows.length ? ["", "Total", String(rows.reduce((a, p) => a + (p.processed || 0), 0))].concat(counterKeys.map(sum)).concat(["", ""]) : undefined,
    });
    tableEl.classList.add("wrap-head");
    return { count: entries.length, shown: rows.length, el: tableEl };
  }

  RM.route(
    "/runs/:runId",
    async (el, params) => {
      const path = "/runs/" + encodeURIComponent(params.runId);
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/runs", "Runs"), " / ", params.runId), h("div", { class: "loading" }, "Loading…")]);
      let run = await RM.api("GET", path);
      RM.clear(el);

      let onlyBusy = true;
      let timer = null;
      let stopped = false;
      RM.onLeave(() => {
        stopped = true;
        if (timer) window.clearTimeout(timer);
      });

      const statusSlot = h("span");
      const liveSlot = h("span", { class: "muted small" });
      const view = h("div");
      const busyToggle = h("input", {
        type: "checkbox",
        checked: onlyBusy,
        onchange: () => {
          onlyBusy = busyToggle.checked;
          draw();
        },
      });

      function draw() {
        RM.clear(statusSlot);
        statusSlot.appendChild(RM.badge(run.status));
        const pt = partitionTable(run, onlyBusy);
        const p = progressOf(run);
        RM.clear(view);
        RM.append(view, [
          h("section", { class: "card" }, h("h2", null, "Progress"), progressBar(run, true), bigCounters(run.totals || {})),
          h(
            "div",
            { class: "grid-2" },
            h(
              "section",
              { class: "card" },
              h("h2", null, "Run"),
              RM.kv([
                ["Run id", h("span", { class: "mono" }, run.runId)],
                ["Job", run.job],
                ["Trigger", RM.badge(run.trigger)],
                ["Status", RM.badge(run.status)],
                run.slotId ? ["Slot", run.slotId] : null,
                run.job === "debitSlot" ? ["Scope", scopeText(run.scope)] : null,
                ["Started", RM.dt(run.startedAt)],
                ["Updated", RM.dt(run.updatedAt)],
                ["Finished", run.finishedAt ? RM.dt(run.finishedAt) : h("span", { class: "muted" }, "not yet")],
                ["Took", duration(run) + (run.finishedAt ? "" : " so far")],
              ]),
            ),
            h(
              "section",
              { class: "card" },
              h("h2", null, "Partitions"),
              RM.kv([
                ["Reported", String(p.total)],
                ["Done", String(p.done)],
                ["Failed", p.failed ? h("span", { class: "err-text" }, String(p.failed)) : "0"],
                ["Running", String(p.running)],
              ]),
              run.job === "debitSlot" ? h("p", null, RM.link("#/trades?runId=" + encodeURIComponent(run.runId), "Trades of this run →")) : null,
            ),
          ),
          h(
            "section",
            { class: "card" },
            h(
              "div",
              { class: "card-head" },
              h("h2", null, "Per partition (" + pt.shown + " of " + pt.count + ")"),
              h("label", { class: "check small" }, busyToggle, " only partitions with work, errors or still running"),
            ),
            pt.el,
          ),
        ]);
      }

      function schedule() {
        if (stopped) return;
        if (run.status !== "RUNNING") {
          liveSlot.textContent = "";
          return;
        }
        liveSlot.textContent = "refreshing every second…";
        timer = window.setTimeout(tick, REFRESH_MS);
      }

      async function tick() {
        timer = null;
        if (stopped || !el.isConnected) return;
        try {
          const next = await RM.api("GET", path);
          if (stopped || !el.isConnected) return;
          run = next;
          draw();
          schedule();
        } catch (err) {
          if (stopped) return;
          liveSlot.textContent = "auto-refresh stopped (" + (err.code || "error") + ") — use Refresh";
          if (err.status !== 401) RM.showError(err);
        }
      }

      RM.append(el, [
        h("div", { class: "crumbs" }, RM.link("#/runs", "Runs"), " / ", run.runId),
        h("div", { class: "page-head" }, h("h1", null, "Run ", h("span", { class: "mono" }, run.runId)), statusSlot, liveSlot, h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        view,
      ]);
      busyToggle.checked = onlyBusy;
      draw();
      schedule();
    },
    "runs",
  );

  /**
   * A "run it now" button and a live panel for a partitioned job started over REST (accrual,
   * reminder scan…): posts to `endpoint`, then follows GET /runs/{id} every second until it ends.
   * `state` keeps the last run between renders of the page ({ run: null } at first).
   */
  function launcher(opts) {
    const { title, endpoint, buttonLabel, buttonTitle, doneNote, tone, state } = opts;
    const REFRESH_MS = 1000;
    const box = h("div", { class: "run-panel" });
    let timer = null;
    let stopped = false;
    RM.onLeave(() => {
      stopped = true;
      if (timer) window.clearTimeout(timer);
    });
    function counters(totals) {
      // Partition counts are in the progress bar; the rest are the job's own counters.
      const keys = Object.keys(totals || {}).filter((k) => !/^partitions/.test(k) && k !== "running" && k !== "done" && k !== "pending");
      if (!keys.length) return h("span", { class: "muted small" }, "no partition has reported yet");
      return h("div", { class: "chips" }, keys.map((k) => h("span", { class: "chip" + (totals[k] && tone && tone[k] ? " " + tone[k] : "") }, labelOf(k) + " " + totals[k])));
    }
    function draw(note) {
      RM.clear(box);
      const r = state.run;
      if (!r) return;
      RM.append(box, [
        h(
          "div",
          { class: "run-head" },
          h("strong", null, title + " "),
          RM.link("#/runs/" + encodeURIComponent(r.runId), r.runId, "mono small"),
          RM.badge(r.status || "RUNNING"),
          h("span", { class: "muted small" }, "started " + RM.dt(r.startedAt) + (r.finishedAt ? " · finished " + RM.dt(r.finishedAt) : "")),
          note ? h("span", { class: "muted small" }, note) : null,
        ),
        progressBar(r, false),
        counters(r.totals),
      ]);
    }
    async function tick() {
      timer = null;
      if (stopped || !box.isConnected || !state.run) return;
      try {
        const next = await RM.api("GET", "/runs/" + encodeURIComponent(state.run.runId));
        if (stopped) return;
        state.run = next;
        draw(next.status === "RUNNING" ? "refreshing every second…" : null);
        if (next.status === "RUNNING") timer = window.setTimeout(tick, REFRESH_MS);
        else if (next.status) RM.showInfo(title + " " + next.runId + " " + String(next.status).toLowerCase() + ". " + doneNote);
      } catch (err) {
        if (stopped) return;
        draw("auto-refresh stopped (" + (err.code || "error") + ")");
        if (err.status !== 401) RM.showError(err);
      }
    }
    function follow(run) {
      state.run = run;
      draw("refreshing every second…");
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(tick, run.status && run.status !== "RUNNING" ? 0 : REFRESH_MS);
    }
    if (state.run) {
      draw(state.run.status === "RUNNING" ? "refreshing every second…" : null);
      if (state.run.status === "RUNNING") timer = window.setTimeout(tick, 0);
    }
    const button = RM.guard(h("button", { type: "button", class: "btn" }, buttonLabel), "ops");
    button.title = button.title || buttonTitle;
    button.addEventListener("click", async () => {
      const last = state.run;
      if (last && last.status === "RUNNING" && !window.confirm(title + " " + last.runId + " is still running. Start another one?")) return;
      await RM.busy(button, async () => {
        try {
          follow(await RM.api("POST", endpoint, { body: {} }));
        } catch (err) {
          RM.showError(err);
        }
      });
    });
    return { el: box, button, follow };
  }

  RM.runs = { progressBar, progressOf, labelOf, launcher };
})();
