/*
 * Schedule terms shared by the "New order" form and the schedule calculator: the field definitions,
 * reading them (custom lines as JSON), the preview call and the schedule table.
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;

  const METHODS = ["EQUAL_INSTALLMENT", "EQUAL_PRINCIPAL", "INTEREST_FIRST", "BULLET", "LEASE_ANNUITY", "CUSTOM"];
  const BIZ_TYPES = ["LEASE", "CONSUMER", "SUPPLY_CHAIN"];

  const TERM_FIELDS = [
    { name: "principal", label: "Principal", type: "money", required: true, placeholder: "100000.00", hint: "Decimal string, at most 2 decimals" },
    { name: "annualRate", label: "Annual rate", type: "rate", required: true, placeholder: "0.12", hint: "Fraction: 0.12 = 12 % a year" },
    { name: "term", label: "Term", type: "int", required: true, min: 1, placeholder: "12", hint: "Number of periods (1–3650)" },
    { name: "termUnit", label: "Term unit", type: "select", options: ["MONTH", "DAY"], emptyLabel: "default (MONTH)" },
    { name: "repaymentMethod", label: "Repayment method", type: "select", options: METHODS, required: true },
    { name: "startDate", label: "Start date", type: "date", required: true },
    { name: "dueDay", label: "Due day", type: "int", min: 1, placeholder: "1–31", hint: "Day of month installments fall due" },
    { name: "interestBasis", label: "Interest basis", type: "select", options: ["MONTHLY", "DAILY"], emptyLabel: "default (MONTHLY)" },
    { name: "dayCount", label: "Day count", type: "select", options: ["ACT/360", "ACT/365", "30/360"], emptyLabel: "default" },
    { name: "leaseTiming", label: "Lease timing", type: "select", options: ["ADVANCE", "ARREARS"], emptyLabel: "default", hint: "LEASE_ANNUITY only" },
    { name: "residual", label: "Residual", type: "money", placeholder: "0.00", hint: "Balloon / residual value" },
    { name: "fee", label: "Fee per period", type: "money", placeholder: "0.00" },
    {
      name: "customLines",
      label: "Custom lines (CUSTOM only, optional)",
      type: "textarea",
      rows: 4,
      wide: true,
      placeholder: '[{ "dueDate": "2026-02-15", "principal": "50000.00", "interest": "500.00" }, …]',
      hint: "JSON array of { dueDate, principal, interest?, fee? }; leave empty for the other methods",
    },
  ];

  function termNames() {
    return TERM_FIELDS.map((f) => f.name);
  }

  /** Read the term fields; custom lines are parsed as JSON. Returns null (errors shown) when invalid. */
  function readTerms(container, extraDefs) {
    const defs = (extraDefs || []).concat(TERM_FIELDS);
    const out = RM.readFields(container, defs);
    if (!out) return null;
    if (out.customLines !== undefined) {
      let lines;
      try {
        lines = JSON.parse(out.customLines);
      } catch (e) {
        RM.showFieldErrors(container, [{ field: "customLines", message: "Not valid JSON: " + e.message }]);
        return null;
      }
      if (!Array.isArray(lines)) {
        RM.showFieldErrors(container, [{ field: "customLines", message: "Must be a JSON array" }]);
        return null;
      }
      out.customLines = lines;
    }
    return out;
  }

  /** Only the schedule terms of a payload (what /plans/preview takes). */
  function pickTerms(payload) {
    const out = {};
    for (const n of termNames()) if (payload[n] !== undefined) out[n] = payload[n];
    return out;
  }

  function preview(terms) {
    return RM.api("POST", "/plans/preview", { body: terms });
  }

  function scheduleTable(p) {
    const m = RM.money;
    const cols = [
      { label: "#", get: (l) => String(l.period), num: true },
      { label: "Start", get: (l) => l.startDate },
      { label: "Due", get: (l) => l.dueDate },
      { label: "Days", get: (l) => String(l.days), num: true },
      { label: "Opening principal", get: (l) => m(l.openingPrincipal), num: true },
      { label: "Principal", get: (l) => m(l.principal), num: true },
      { label: "Interest", get: (l) => m(l.interest), num: true },
      { label: "Fee", get: (l) => m(l.fee), num: true },
      { label: "Total", get: (l) => h("strong", null, m(l.total)), num: true },
      { label: "Closing principal", get: (l) => m(l.closingPrincipal), num: true },
    ];
    return h(
      "div",
      { class: "schedule" },
      h(
        "div",
        { class: "stat-row" },
        stat("Total principal", m(p.totalPrincipal)),
        stat("Total interest", m(p.totalInterest)),
        stat("Total fee", m(p.totalFee)),
        stat("Total to repay", m(p.total)),
        p.periodicPayment ? stat("Periodic payment", m(p.periodicPayment)) : null,
        stat("Installments", String(p.lines.length)),
      ),
      RM.table(cols, p.lines, {
        empty: "No installments",
        footer: ["", "", "Total", "", "", m(p.totalPrincipal), m(p.totalInterest), m(p.totalFee), h("strong", null, m(p.total)), ""],
      }),
    );
  }

  function stat(label, value, sub) {
    return h("div", { class: "stat" }, h("div", { class: "stat-label" }, label), h("div", { class: "stat-value" }, value), sub ? h("div", { class: "stat-sub" }, sub) : null);
  }

  function today() {
    if (RM.clock && RM.clock.businessDate) return RM.clock.businessDate;
    return new Date().toISOString().slice(0, 10);
  }

  RM.schedule = { METHODS, BIZ_TYPES, TERM_FIELDS, readTerms, pickTerms, preview, scheduleTable, today };
  RM.stat = stat;
})();
