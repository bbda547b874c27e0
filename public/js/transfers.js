/*
 * Transfers (资产转让): plans' receivables moved to another funder from a date at a price ratio — list,
 * create form, detail with the plans and history, cancel before the effective date. Sub-sections:
 * funders (payout accounts; admin edit) and remittances (what each owner was paid per day; run now).
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;
  const m = RM.money;

  const STATUSES = ["SCHEDULED", "EFFECTIVE", "CANCELLED"];

  function transferHref(no) {
    return "#/transfers/" + encodeURIComponent(no);
  }

  function subTabs(active) {
    const tab = (id, href, label) => h("a", { href, class: active === id ? "active" : "" }, label);
    return h("div", { class: "tabs" }, tab("transfers", "#/transfers", "Transfers"), tab("funders", "#/funders", "Funders"), tab("remittances", "#/remittances", "Remittances"));
  }

  function tomorrow() {
    const d = new Date(RM.schedule.today() + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }

  function yesterday() {
    const d = new Date(RM.schedule.today() + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() - 1);
    return d.toISOString().slice(0, 10);
  }

  /** Funders for the pickers; an empty list (with the error shown) when they cannot be read. */
  async function loadFunders() {
    try {
      return await RM.api("GET", "/funders");
    } catch (err) {
      if (err.status !== 401) RM.showError(err);
      return [];
    }
  }

  function funderList(id, funders) {
    return h(
      "datalist",
      { id },
      funders.map((f) => h("option", { value: f.funderId }, f.name || f.funderId)),
    );
  }

  // ------------------------------------------------------------------ list + create

  const FILTERS = [
    { name: "status", label: "Status", type: "select", options: STATUSES, emptyLabel: "any" },
    { name: "toFunderId", label: "To funder" },
  ];

  const COLUMNS = [
    { label: "Transfer", get: (t) => RM.link(transferHref(t.transferNo), t.transferNo, "mono small"), cls: "nowrap" },
    { label: "To funder", get: (t) => h("strong", null, t.toFunderId) },
    { label: "Effective", get: (t) => t.effectiveDate, cls: "nowrap" },
    { label: "Price ratio", get: (t) => t.priceRatio, num: true },
    { label: "Status", get: (t) => RM.badge(t.status) },
    { label: "Plans", get: (t) => String(t.planCount !== undefined ? t.planCount : t.totals ? t.totals.plans : "—"), num: true },
    { label: "Remaining principal", get: (t) => m(t.totals && t.totals.remainingPrincipal), num: true },
    { label: "Price", get: (t) => h("strong", null, m(t.totals && t.totals.price)), num: true },
    { label: "Created", get: (t) => RM.dt(t.createdAt), cls: "small nowrap" },
  ];

  /** "P1, P2\nP3" → ["P1","P2","P3"] (order kept, duplicates dropped). */
  function parsePlanIds(raw) {
    const out = [];
    for (const s of String(raw || "").split(/[\s,;]+/)) if (s && !out.includes(s)) out.push(s);
    return out;
  }

  function createForm(funders, query) {
    const defs = [
      { name: "transferNo", label: "Transfer no", required: true, hint: "Idempotency key: made when this form opened; the same number again answers the first result" },
      { name: "toFunderId", label: "To funder", required: true, placeholder: "FUNDER_B" },
      { name: "effectiveDate", label: "Effective date", type: "date", required: true, hint: "Not in the past; the new owner collects from this date" },
      { name: "priceRatio", label: "Price ratio", type: "rate", required: true, placeholder: "0.98", hint: "Of the remaining principal: 0.98 = 2 % discount, 1.02 = premium" },
      { name: "planIds", label: "Plan ids", type: "textarea", rows: 5, required: true, wide: true, placeholder: "PL-…  one per line, or separated by commas / spaces", hint: "Up to 1000 plans; all are checked before anything is written" },
      { name: "reason", label: "Reason", wide: true, placeholder: "optional" },
    ];
    const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Create transfer"), "ops");
    const form = h(
      "form",
      {
        class: "form",
        novalidate: true,
        autocomplete: "off",
        onsubmit: async (e) => {
          e.preventDefault();
          const v = RM.readFields(form, defs);
          if (!v) return;
          const planIds = parsePlanIds(v.planIds);
          const problems = [];
          if (!planIds.length) problems.push({ field: "planIds", message: "At least one plan id" });
          if (planIds.length > 1000) problems.push({ field: "planIds", message: "At most 1000 plans per transfer (" + planIds.length + " given)" });
          if (!/^\d{1,2}(\.\d{1,6})?$/.test(v.priceRatio) || RM.decCmp(v.priceRatio, "0") !== 1) problems.push({ field: "priceRatio", message: "A positive decimal like 0.98 (up to 6 decimals)" });
          if (problems.length) {
            RM.showFieldErrors(form, problems);
            return;
          }
          const body = { transferNo: v.transferNo, planIds, toFunderId: v.toFunderId, effectiveDate: v.effectiveDate, priceRatio: v.priceRatio };
          if (v.reason) body.reason = v.reason;
          if (!window.confirm("Transfer " + planIds.length + " plan(s) to " + v.toFunderId + " from " + v.effectiveDate + " at price ratio " + v.priceRatio + "?")) return;
          await RM.busy(submit, async () => {
            try {
              const t = await RM.api("POST", "/transfers", { body });
              RM.flash("Transfer " + t.transferNo + " " + String(t.status).toLowerCase() + ": " + (t.totals ? t.totals.plans : planIds.length) + " plan(s), price " + m(t.totals && t.totals.price) + ".");
              RM.go("/transfers/" + encodeURIComponent(t.transferNo));
            } catch (err) {
              RM.formError(form, err);
            }
          });
        },
      },
      RM.fieldGrid(defs, { transferNo: RM.opNo("TR"), effectiveDate: tomorrow(), planIds: query.planIds ? parsePlanIds(query.planIds).join("\n") : "" }),
      funderList("transfer-funders", funders),
      h("ul", { class: "form-errors" }),
      h("div", { class: "form-actions" }, submit, h("span", { class: "muted small" }, "Collections on and after the effective date belong to the new owner and are remitted to it.")),
    );
    const to = form.querySelector("[name='toFunderId']");
    if (to) to.setAttribute("list", "transfer-funders");
    return form;
  }

  RM.route(
    "/transfers",
    async (el, _params, query) => {
      const funders = await loadFunders();
      const listQuery = Object.assign({}, query);
      delete listQuery.planIds;
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Transfers"), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        subTabs("transfers"),
        h("details", { class: "card collapsible", open: (RM.can("ops") && !!query.planIds) || undefined }, h("summary", null, h("h2", null, "New transfer")), createForm(funders, query)),
      ]);
      await RM.listPage(el, { api: "/transfers", hashPath: "/transfers", filters: FILTERS, columns: COLUMNS, empty: "No transfers match these filters" }, listQuery);
    },
    "transfers",
  );

  // ------------------------------------------------------------------ detail

  function historyList(history) {
    const list = history || [];
    if (!list.length) return h("p", { class: "muted" }, "No history.");
    return h(
      "ol",
      { class: "timeline" },
      list.map((e, i) =>
        h(
          "li",
          { class: "timeline-item" + (i === list.length - 1 ? " timeline-last" : "") },
          h("span", { class: "timeline-dot" + (e.action === "CANCELLED" ? " timeline-failed" : e.action === "EFFECTIVE" ? " timeline-success" : "") }),
          h(
            "div",
            { class: "timeline-body" },
            h("div", null, RM.badge(e.action, "muted"), " by ", h("strong", null, e.by || "—")),
            h("div", { class: "muted small" }, RM.dt(e.at)),
            e.reason ? h("div", { class: "small" }, e.reason) : null,
          ),
        ),
      ),
    );
  }

  RM.route(
    "/transfers/:transferNo",
    async (el, params) => {
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/transfers", "Transfers"), " / ", params.transferNo), h("div", { class: "loading" }, "Loading…")]);
      const t = await RM.api("GET", "/transfers/" + encodeURIComponent(params.transferNo));
      RM.clear(el);
      const plans = t.plans || [];
      const today = RM.schedule.today();
      const cancellable = t.status === "SCHEDULED" && t.effectiveDate > today;
      const cancelBtn = cancellable ? RM.guard(h("button", { type: "button", class: "btn btn-danger" }, "Cancel transfer"), "ops") : null;
      if (cancelBtn) {
        cancelBtn.addEventListener("click", async () => {
          let reason = "";
          for (;;) {
            const r = window.prompt((reason ? "A reason of 2-200 characters is needed.\n\n" : "") + "Cancel transfer " + t.transferNo + " (" + plans.length + " plans to " + t.toFunderId + " from " + t.effectiveDate + ").\n\nReason:", reason);
            if (r === null) return;
            reason = r.trim() || " ";
            if (reason.trim().length >= 2 && reason.length <= 200) break;
          }
          await RM.busy(cancelBtn, async () => {
            try {
              await RM.api("POST", "/transfers/" + encodeURIComponent(t.transferNo) + "/cancel", { body: { reason: reason.trim() } });
              RM.flash("Transfer " + t.transferNo + " cancelled; the plans keep their owner.");
              RM.render();
            } catch (err) {
              RM.showError(err);
            }
          });
        });
      }
      const planCols = [
        { label: "Plan", get: (p) => RM.plans.planLink(p.planId) },
        { label: "From funder", get: (p) => p.fromFunderId },
        { label: "Status", get: (p) => RM.badge(p.status) },
        { label: "Remaining principal", get: (p) => m(p.remainingPrincipal), num: true },
        { label: "Price", get: (p) => m(p.price), num: true },
      ];
      RM.append(el, [
        h("div", { class: "crumbs" }, RM.link("#/transfers", "Transfers"), " / ", t.transferNo),
        h("div", { class: "page-head" }, h("h1", null, "Transfer ", h("span", { class: "mono" }, t.transferNo)), RM.badge(t.status), cancelBtn, h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        t.status === "SCHEDULED" && !cancellable ? h("div", { class: "note" }, "Takes effect on " + t.effectiveDate + " (today or earlier): it can no longer be cancelled.") : null,
        h(
          "div",
          { class: "stat-row" },
          RM.stat("To funder", t.toFunderId),
          RM.stat("Effective", t.effectiveDate),
          RM.stat("Price ratio", t.priceRatio),
          RM.stat("Plans", String(t.totals ? t.totals.plans : plans.length)),
          RM.stat("Remaining principal", m(t.totals && t.totals.remainingPrincipal)),
          RM.stat("Price", m(t.totals && t.totals.price)),
        ),
        h(
          "div",
          { class: "grid-2" },
          h(
            "section",
            { class: "card" },
            h("h2", null, "Transfer"),
            RM.kv([
              ["Transfer no", h("span", { class: "mono" }, t.transferNo)],
              ["Status", RM.badge(t.status)],
              ["To funder", t.toFunderId],
              ["Effective date", t.effectiveDate],
              ["Price ratio", t.priceRatio],
              t.reason ? ["Reason", t.reason] : null,
              t.by ? ["Requested by", t.by] : null,
              ["Created", RM.dt(t.createdAt)],
              ["Updated", RM.dt(t.updatedAt)],
            ]),
          ),
          h("section", { class: "card" }, h("h2", null, "History"), historyList(t.history)),
        ),
        h(
          "section",
          { class: "card" },
          h("h2", null, "Plans (" + plans.length + ")"),
          RM.table(planCols, plans, {
            empty: "No plans",
            footer: plans.length ? ["Total", "", "", m(RM.decSum(plans.map((p) => p.remainingPrincipal))), m(RM.decSum(plans.map((p) => p.price)))] : undefined,
          }),
        ),
      ]);
    },
    "transfers",
  );

  // ------------------------------------------------------------------ funders

  const FUNDER_FIELDS = [
    { name: "funderId", label: "Funder id", required: true, placeholder: "FUNDER_B" },
    { name: "name", label: "Name", required: true },
    { name: "accountNo", label: "Payout account no", required: true, placeholder: "8-32 digits", hint: "Shown masked afterwards: enter it in full on every change" },
    { name: "accountName", label: "Account name", required: true },
  ];

  function funderForm() {
    const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Save funder"), "admin");
    const form = h(
      "form",
      {
        class: "form",
        novalidate: true,
        autocomplete: "off",
        onsubmit: async (e) => {
          e.preventDefault();
          const v = RM.readFields(form, FUNDER_FIELDS);
          if (!v) return;
          if (!/^\d{8,32}$/.test(v.accountNo)) {
            RM.showFieldErrors(form, [{ field: "accountNo", message: "8-32 digits" }]);
            return;
          }
          const funderId = v.funderId;
          delete v.funderId;
          if (!window.confirm("Set the payout account of " + funderId + " to ****" + v.accountNo.slice(-4) + " (" + v.accountName + ")? Remittances are paid to it.")) return;
          await RM.busy(submit, async () => {
            try {
              const f = await RM.api("PUT", "/funders/" + encodeURIComponent(funderId), { body: v });
              RM.flash("Funder " + f.funderId + " saved: account " + f.accountNo + ".");
              RM.render();
            } catch (err) {
              RM.formError(form, err);
            }
          });
        },
      },
      RM.fieldGrid(FUNDER_FIELDS, {}),
      h("ul", { class: "form-errors" }),
      h("div", { class: "form-actions" }, submit, RM.can("admin") ? null : h("span", { class: "muted small" }, "Changing a funder's account needs the admin role.")),
    );
    return form;
  }

  RM.route(
    "/funders",
    async (el) => {
      RM.append(el, [h("div", { class: "page-head" }, h("h1", null, "Funders"), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")), subTabs("funders"), h("div", { class: "loading" }, "Loading…")]);
      const funders = await RM.api("GET", "/funders");
      el.querySelector(".loading").remove();
      const form = funderForm();
      const edit = (f) => {
        for (const k of ["funderId", "name", "accountName"]) {
          const input = form.querySelector("[name='" + k + "']");
          if (input) input.value = f[k] || "";
        }
        const acc = form.querySelector("[name='accountNo']");
        acc.value = "";
        acc.focus();
        form.scrollIntoView({ block: "nearest" });
      };
      const cols = [
        { label: "Funder", get: (f) => h("strong", null, f.funderId) },
        { label: "Name", get: (f) => f.name || "—" },
        { label: "Payout account", get: (f) => h("span", { class: "mono" }, f.accountNo || "—") },
        { label: "Account name", get: (f) => f.accountName || "—" },
        { label: "Updated", get: (f) => (f.updatedAt ? h("div", { class: "small nowrap" }, RM.dt(f.updatedAt), f.by ? h("div", { class: "muted" }, f.by) : null) : "—") },
        {
          label: "",
          get: (f) => h("div", { class: "row-actions" }, RM.guard(h("button", { type: "button", class: "btn btn-small", onclick: () => edit(f) }, "Edit"), "admin"), RM.link("#/remittances?funderId=" + encodeURIComponent(f.funderId), "Remittances", "btn btn-small")),
        },
      ];
      RM.append(el, [
        h("p", { class: "muted" }, "Owners of plans are paid their day's collections (remittances) to these accounts; a funder without an account has its remittances HELD."),
        RM.table(cols, funders, { empty: "No funder has an account yet" }),
        h("section", { class: "card spaced-top" }, h("h2", null, "Register or change a funder's account"), form),
      ]);
    },
    "transfers",
  );

  // ------------------------------------------------------------------ remittances

  const REM_FILTERS = [
    { name: "date", label: "Date", type: "date" },
    { name: "funderId", label: "Funder" },
  ];

  const REM_COLUMNS = [
    { label: "Remittance", get: (r) => h("span", { class: "mono small" }, r.remittanceNo), cls: "nowrap" },
    { label: "Date", get: (r) => r.date, cls: "nowrap" },
    { label: "Funder", get: (r) => h("strong", null, r.funderId) },
    { label: "Amount", get: (r) => m(r.amount), num: true },
    { label: "Flows", get: (r) => String(r.flows), num: true },
    { label: "Status", get: (r) => h("div", null, RM.badge(r.status), r.payoutStatus ? h("div", { class: "muted small" }, "payout " + r.payoutStatus) : null) },
    { label: "Attempts", get: (r) => String(r.attempts || 0), num: true },
    // The remittance is paid out under its own number (payoutNo = remittanceNo).
    { label: "Payout", get: (r) => (r.payoutStatus ? RM.trades.payoutLink(r.remittanceNo) : "—") },
    { label: "Error", get: (r) => (r.error ? h("span", { class: "err-text small" }, r.error) : "—") },
    { label: "Updated", get: (r) => RM.dt(r.updatedAt), cls: "small nowrap" },
  ];

  function remittanceRowClass(r) {
    return r.status === "FAILED" ? "row-failed" : r.status === "HELD" ? "row-attention" : undefined;
  }

  function runForm() {
    const input = h("input", { type: "date", name: "date", value: yesterday() });
    const btn = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Run now"), "ops");
    const result = h("div");
    const form = h(
      "form",
      {
        class: "inline-form compact",
        onsubmit: async (e) => {
          e.preventDefault();
          RM.clearFieldErrors(form);
          const date = String(input.value).trim();
          const body = date ? { date } : {};
          await RM.busy(btn, async () => {
            try {
              const c = await RM.api("POST", "/remittances/runs", { body });
              RM.clear(result);
              result.appendChild(
                h(
                  "div",
                  { class: "chips" },
                  Object.keys(c || {}).map((k) => h("span", { class: "chip" + (k === "failed" && c[k] ? " chip-err" : k === "held" && c[k] ? " chip-warn" : k === "paid" && c[k] ? " chip-ok" : "") }, (RM.runs ? RM.runs.labelOf(k) : k) + " " + c[k])),
                ),
              );
              RM.showInfo("Transfer activation and remittance ran" + (date ? " for " + date : "") + ".");
            } catch (err) {
              RM.formError(form, err);
            }
          });
        },
      },
      h("label", null, "Activate transfers and remit"),
      input,
      btn,
      h("span", { class: "muted small" }, "A past date (default yesterday: a day is remitted after it ends); empty = the last days. Idempotent."),
      h("div", { class: "field-error", dataset: { field: "date" } }),
      h("ul", { class: "form-errors" }),
      result,
    );
    return form;
  }

  function remittanceFooter(rows) {
    return ["This page", "", "", m(RM.decSum(rows.map((r) => r.amount))), String(rows.reduce((a, r) => a + (r.flows || 0), 0)), "", "", "", "", ""];
  }

  RM.route(
    "/remittances",
    async (el, _params, query) => {
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Remittances"), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        subTabs("remittances"),
        h("p", { class: "muted" }, "Each owner is paid what was collected for it on a business date (one remittance per date and funder). HELD: the funder has no payout account; FAILED: retried on the next run."),
        h("section", { class: "card card-tight" }, runForm()),
      ]);
      await RM.listPage(el, { api: "/remittances", hashPath: "/remittances", filters: REM_FILTERS, columns: REM_COLUMNS, footer: remittanceFooter, rowClass: remittanceRowClass, empty: "No remittances match these filters" }, query);
    },
    "transfers",
  );
})();
