/*
 * Reconciliation (对账): runs per channel and business date (pull the bank's statement or upload a
 * file), a run's progress and summary per category, and the discrepancies with their resolve action.
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;
  const m = RM.money;

  const CHANNELS = ["BANK_A", "BANK_B", "BANK_C", "BANK_D"];
  const CATEGORIES = ["MATCHED", "ONLY_OURS", "ONLY_THEIRS", "AMOUNT_DIFFERS", "STATUS_DIFFERS", "DATE_DIFFERS"];
  const ACTIONS = ["ACCEPT_BANK", "ACCEPT_OURS", "WRITE_OFF", "MANUAL_ADJUSTMENT"];

  function yesterday() {
    const d = new Date(RM.schedule.today() + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() - 1);
    return d.toISOString().slice(0, 10);
  }

  function runHref(id) {
    return "#/reconciliation/" + encodeURIComponent(id);
  }

  function summaryTable(summary) {
    if (!summary) return h("p", { class: "muted" }, "No summary yet.");
    return h(
      "table",
      { class: "table" },
      h("thead", null, h("tr", null, h("th", null, "Category"), h("th", { class: "num" }, "Count"), h("th", { class: "num" }, "Our amount"), h("th", { class: "num" }, "Bank amount"))),
      h(
        "tbody",
        null,
        CATEGORIES.map((c) => {
          const s = summary[c] || { count: 0, amount: "0.00", theirAmount: "0.00" };
          return h("tr", null, h("td", null, RM.badge(c)), h("td", { class: "num" }, String(s.count)), h("td", { class: "num" }, m(s.amount)), h("td", { class: "num" }, m(s.theirAmount)));
        }),
      ),
    );
  }

  async function startForm(el) {
    const channel = h("select", { name: "channel" }, CHANNELS.map((c) => h("option", { value: c }, c)));
    const date = h("input", { type: "date", name: "date", value: yesterday() });
    const file = h("input", { type: "file", name: "file", accept: ".csv,.txt,text/*" });
    const out = h("div");
    const go = async (upload) => {
      try {
        let run;
        if (upload) {
          const f = file.files && file.files[0];
          if (!f) return RM.flash("Choose a statement file first.");
          const bytes = new Uint8Array(await f.arrayBuffer());
          let bin = "";
          for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
          run = await RM.api("POST", "/reconciliations/upload", { body: { channel: channel.value, date: date.value, content: window.btoa(bin), encoding: "base64" } });
        } else {
          run = await RM.api("POST", "/reconciliations", { body: { channel: channel.value, date: date.value } });
        }
        RM.go("/reconciliation/" + encodeURIComponent(run.runId));
      } catch (err) {
        RM.append(RM.clear(out), h("p", { class: "error" }, (err.code || "ERROR") + ": " + err.message));
      }
    };
    RM.append(el,
      h(
        "div",
        { class: "form" },
        h("label", null, "Channel ", channel),
        h("label", null, " Business date ", date),
        RM.guard(h("button", { class: "btn btn-primary", onclick: () => go(false) }, "Pull statement & reconcile"), "ops"),
        h("label", null, " or upload ", file),
        RM.guard(h("button", { class: "btn", onclick: () => go(true) }, "Upload & reconcile"), "ops"),
        out,
      ),
    );
  }

  async function listPage(el) {
    RM.append(el, h("h1", null, "Reconciliation"));
    await startForm(el);
    const page = await RM.api("GET", "/reconciliations?pageSize=50");
    RM.append(el,
      h(
        "table",
        { class: "table" },
        h("thead", null, h("tr", null, ["Run", "Channel", "Date", "Source", "Status", "Lines", "Matched", "Discrepancies", "Settled", "Started"].map((x) => h("th", null, x)))),
        h(
          "tbody",
          null,
          page.rows.map((r) =>
            h(
              "tr",
              null,
              h("td", null, RM.link(runHref(r.runId), r.runId, "mono small")),
              h("td", null, r.channel),
              h("td", null, r.date),
              h("td", null, r.source),
              h("td", null, RM.badge(r.status)),
              h("td", { class: "num" }, String(r.progress ? r.progress.linesParsed : "—")),
              h("td", { class: "num" }, String(r.progress ? r.progress.matched : "—")),
              h("td", { class: "num" }, String(r.progress ? r.progress.discrepancies : "—")),
              h("td", { class: "num" }, String(r.settled ? r.settled.success + r.settled.failed : 0)),
              h("td", { class: "small nowrap" }, RM.dt(r.startedAt)),
            ),
          ),
        ),
      ),
    );
  }

  function discrepancyRow(d, reload) {
    const note = h("input", { placeholder: "note (required)", size: 24 });
    const action = h("select", null, ACTIONS.map((a) => h("option", { value: a }, a)));
    const resolve = RM.guard(
      h(
        "button",
        {
          class: "btn btn-small",
          onclick: async () => {
            try {
              await RM.api("POST", "/discrepancies/" + encodeURIComponent(d.id) + "/resolve", { body: { action: action.value, note: note.value } });
              reload();
            } catch (err) {
              RM.showError(err);
            }
          },
        },
        "Resolve",
      ),
      "ops",
    );
    const side = (s) => (s ? [s.state || s.status, m(s.amount), s.date].filter(Boolean).join(" · ") : "—");
    return h(
      "tr",
      null,
      h("td", { class: "mono small" }, d.tradeNo),
      h("td", null, RM.badge(d.category)),
      h("td", null, side(d.ours)),
      h("td", null, side(d.theirs)),
      h("td", null, RM.badge(d.status)),
      h("td", null, d.status === "OPEN" ? h("span", null, action, note, resolve) : (d.resolution.action + " by " + d.resolution.by + (d.resolution.note ? ": " + d.resolution.note : ""))),
    );
  }

  async function runPage(el, runId) {
    const draw = async () => {
      const run = await RM.api("GET", "/reconciliations/" + encodeURIComponent(runId));
      const disc = await RM.api("GET", "/discrepancies?pageSize=200&runId=" + encodeURIComponent(runId));
      const p = run.progress || {};
      RM.append(RM.clear(el),
        h("h1", null, "Reconciliation ", h("span", { class: "mono" }, run.runId)),
        h("p", null, run.channel + " · " + run.date + " · " + run.source + " · by " + run.by + " · ", RM.badge(run.status)),
        h("p", null, "Phase " + p.phase + ": " + p.linesParsed + " lines parsed, " + p.tradesRead + " trades read, " + p.matched + " matched, " + p.discrepancies + " discrepancies, " + (run.settled.success + run.settled.failed) + " UNKNOWN trades settled"),
        run.error ? h("p", { class: "error" }, run.error.code + ": " + run.error.message) : h("span"),
        summaryTable(run.summary),
        h("h2", null, "Discrepancies"),
        h(
          "table",
          { class: "table" },
          h("thead", null, h("tr", null, ["Trade", "Category", "Ours", "Bank", "Status", "Resolution"].map((x) => h("th", null, x)))),
          h("tbody", null, disc.rows.map((d) => discrepancyRow(d, draw))),
        ),
        h("h2", null, "Settled from the statement"),
        h("ul", null, (run.settlements || []).map((s) => h("li", { class: "mono small" }, s.tradeNo + " UNKNOWN → " + s.to + " " + m(s.amount) + (s.repaymentApplied ? " (repayment applied)" : "")))),
      );
      if (run.status === "RUNNING") setTimeout(() => document.body.contains(el) && draw().catch(RM.showError), 1000);
    };
    await draw();
  }

  RM.route("/reconciliation", (el) => listPage(el), "reconciliation");
  RM.route("/reconciliation/:runId", (el, params) => runPage(el, decodeURIComponent(params.runId)), "reconciliation");
})();
