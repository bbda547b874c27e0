/*
 * Payouts (代付) and positions (头寸): a card per channel position with its recent history, the
 * admin top-up / withdraw form, the payout form and a payout lookup (bookmarkable: ?payoutNo=).
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;
  const m = RM.money;

  /** The answer to the payout just submitted: shown as is (a payout no channel took leaves nothing to look up). */
  const justCreated = new Map();

  function isLow(p) {
    // Exact decimal comparison: below the watermark when one is set (> 0).
    return RM.decCmp(p.lowWatermark, "0") === 1 && RM.decCmp(p.available, p.lowWatermark) === -1;
  }

  function positionCard(p) {
    const low = isLow(p);
    const history = (p.history || []).slice().reverse();
    return h(
      "section",
      { class: "card position-card" + (low ? " position-low" : "") },
      h("div", { class: "position-head" }, h("h2", null, p.channel), low ? RM.badge("LOW", "err") : RM.badge("OK", "ok"), h("span", { class: "muted small" }, "v" + p.version)),
      h("div", { class: "position-available" }, h("div", { class: "stat-label" }, "Available"), h("div", { class: "position-amount" + (low ? " err-text" : "") }, m(p.available))),
      RM.kv([
        ["Balance", m(p.balance)],
        ["Reserved", m(p.reserved) + (p.openReservations ? " (" + p.openReservations + " open)" : "")],
        ["Low watermark", RM.decCmp(p.lowWatermark, "0") === 1 ? m(p.lowWatermark) : h("span", { class: "muted" }, "none")],
        p.updatedAt ? ["Updated", RM.dt(p.updatedAt)] : null,
      ]),
      h(
        "details",
        { class: "chart-data" },
        h("summary", null, "History (" + history.length + ")"),
        RM.table(
          [
            { label: "At", get: (e) => RM.dt(e.at), cls: "small nowrap" },
            { label: "Action", get: (e) => RM.badge(e.action, e.action === "TOP_UP" ? "ok" : e.action === "WITHDRAW" ? "warn" : "muted") },
            { label: "Amount", get: (e) => m(e.amount), num: true },
            { label: "Balance", get: (e) => m(e.balance), num: true },
            { label: "By / reason", get: (e) => h("div", { class: "small" }, e.by, e.reason ? h("div", { class: "muted" }, e.reason) : null, e.tradeNo ? h("div", null, RM.trades.tradeLink(e.tradeNo)) : null) },
          ],
          history,
          { empty: "No movements yet" },
        ),
      ),
    );
  }

  function emptyPositionCard(code) {
    return h(
      "section",
      { class: "card position-card placeholder" },
      h("div", { class: "position-head" }, h("h2", null, code), RM.badge("NO POSITION", "muted")),
      h("p", { class: "muted small" }, "Pays out (PAYOUT capability) but has no position yet; a top-up opens one."),
    );
  }

  // ------------------------------------------------------------------ forms

  function adjustForm(channelCodes) {
    const defs = [
      { name: "channel", label: "Channel", type: "select", options: channelCodes, required: true },
      { name: "direction", label: "Direction", type: "select", options: [{ value: "TOP_UP", label: "Top up" }, { value: "WITHDRAW", label: "Withdraw" }], required: true },
      { name: "amount", label: "Amount", type: "money", required: true, placeholder: "100000.00" },
      { name: "lowWatermark", label: "Low watermark", type: "money", placeholder: "unchanged", hint: "Optional: warn when available falls below" },
      { name: "reason", label: "Reason", required: true, wide: true, placeholder: "Funder F001 top-up, ref …", hint: "3-200 characters; kept in the position's history" },
    ];
    const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Adjust position"), "admin");
    const form = h(
      "form",
      {
        class: "form",
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          const v = RM.readFields(form, defs);
          if (!v) return;
          if (v.reason.length < 3) {
            RM.showFieldErrors(form, [{ field: "reason", message: "At least 3 characters" }]);
            return;
          }
          const channel = v.channel;
          delete v.channel;
          if (v.direction === "WITHDRAW" && !window.confirm("Withdraw " + m(v.amount) + " from the " + channel + " position?")) return;
          await RM.busy(submit, async () => {
            try {
              const p = await RM.api("POST", "/positions/" + encodeURIComponent(channel) + "/adjust", { body: v });
              RM.flash("Position " + p.channel + ": " + (v.direction === "TOP_UP" ? "topped up " : "withdrew ") + m(v.amount) + "; available " + m(p.available) + ".");
              RM.render();
            } catch (err) {
              RM.formError(form, err);
            }
          });
        },
      },
      RM.fieldGrid(defs, { direction: "TOP_UP", channel: channelCodes[0] }),
      h("ul", { class: "form-errors" }),
      h("div", { class: "form-actions" }, submit, RM.can("admin") ? null : h("span", { class: "muted small" }, "Adjusting positions needs the admin role.")),
    );
    return form;
  }

  function newPayoutNo() {
    const d = RM.clock && RM.clock.businessDate ? RM.clock.businessDate.replace(/-/g, "") : "";
    return "PO-" + d + "-" + Math.random().toString(36).slice(2, 8).toUpperCase();
  }

  const PAYOUT_FIELDS = [
    { name: "payoutNo", label: "Payout no", required: true, hint: "Idempotency key: the same number again answers the first result" },
    { name: "amount", label: "Amount", type: "money", required: true, placeholder: "5000.00" },
    { name: "beneficiary.accountNo", label: "Beneficiary account", required: true, placeholder: "8-32 digits" },
    { name: "beneficiary.accountName", label: "Beneficiary name", required: true },
    { name: "beneficiary.funderId", label: "Funder", placeholder: "optional" },
    { name: "purpose", label: "Purpose", placeholder: "optional", wide: true },
  ];

  function payoutForm() {
    const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Pay out"), "ops");
    const form = h(
      "form",
      {
        class: "form",
        novalidate: true,
        autocomplete: "off",
        onsubmit: async (e) => {
          e.preventDefault();
          const v = RM.readFields(form, PAYOUT_FIELDS);
          if (!v) return;
          if (!/^\d{8,32}$/.test(v.beneficiary.accountNo)) {
            RM.showFieldErrors(form, [{ field: "beneficiary.accountNo", message: "8-32 digits" }]);
            return;
          }
          if (!window.confirm("Pay out " + m(v.amount) + " to " + v.beneficiary.accountName + " (account ****" + v.beneficiary.accountNo.slice(-4) + ")?")) return;
          await RM.busy(submit, async () => {
            try {
              const res = await RM.api("POST", "/payouts", { body: v });
              justCreated.set(res.payoutNo, res);
              RM.flash("Payout " + res.payoutNo + " requested: " + res.status + ".");
              RM.go("/payouts", { payoutNo: res.payoutNo });
            } catch (err) {
              RM.formError(form, err);
            }
          });
        },
      },
      RM.fieldGrid(PAYOUT_FIELDS, { payoutNo: newPayoutNo() }),
      h("ul", { class: "form-errors" }),
      h("div", { class: "form-actions" }, submit, h("span", { class: "muted small" }, "Routed by position and fee; the amount is reserved, sent, then committed or released.")),
    );
    return form;
  }

  function lookupForm(current) {
    const input = h("input", { type: "text", name: "payoutNo", class: "input-medium", placeholder: "PO-…", value: current || "" });
    return h(
      "form",
      {
        class: "inline-form",
        onsubmit: (e) => {
          e.preventDefault();
          const v = String(input.value).trim();
          RM.go("/payouts", v ? { payoutNo: v } : {});
        },
      },
      h("label", null, "Look up a payout"),
      input,
      h("button", { type: "submit", class: "btn" }, "Look up"),
    );
  }

  function payoutView(p) {
    const cols = [
      { label: "Trade", get: (t) => RM.trades.tradeLink(t.tradeNo), cls: "nowrap" },
      { label: "Channel", get: (t) => t.channel },
      { label: "Att.", get: (t) => String(t.attempt), num: true },
      { label: "State", get: (t) => h("div", { class: "nowrap" }, RM.trades.stateBadges(t)) },
      { label: "Amount", get: (t) => m(t.amount), num: true },
      { label: "Fee", get: (t) => m(t.fee), num: true },
      { label: "Failure", get: (t) => RM.trades.failureCell(t.failure) },
      { label: "Updated", get: (t) => RM.dt(t.updatedAt), cls: "small nowrap" },
    ];
    const b = p.beneficiary;
    return h(
      "section",
      { class: "card card-highlight" },
      h("div", { class: "page-head" }, h("h2", null, "Payout ", h("span", { class: "mono" }, p.payoutNo)), RM.badge(p.status)),
      RM.kv([
        ["Amount", p.amount ? h("strong", null, m(p.amount)) : "—"],
        ["Beneficiary", b ? RM.trades.maskAccount(b.accountNo) + " · " + (b.accountName || "") + (b.funderId ? " · " + b.funderId : "") : "—"],
        Array.isArray(p.rejected) && p.rejected.length
          ? ["Channels rejected", h("div", { class: "chips" }, p.rejected.map((r) => h("span", { class: "chip chip-err" }, r.code + ": " + r.reason)))]
          : null,
      ]),
      h("h2", { class: "spaced" }, "Trades (" + (p.trades || []).length + ")"),
      RM.table(cols, p.trades || [], { empty: "No trade was sent: no channel could take it (nothing is recorded for this payout number).", rowClass: RM.trades.rowClass }),
    );
  }

  // ------------------------------------------------------------------ page

  RM.route(
    "/payouts",
    async (el, _params, query) => {
      RM.append(el, [h("div", { class: "page-head" }, h("h1", null, "Payouts & positions"), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")), h("div", { class: "loading" }, "Loading…")]);
      const [posR, chR, payoutR] = await Promise.allSettled([
        RM.api("GET", "/positions"),
        RM.api("GET", "/channels"),
        !query.payoutNo ? Promise.resolve(null) : justCreated.has(query.payoutNo) ? Promise.resolve(justCreated.get(query.payoutNo)) : RM.api("GET", "/payouts/" + encodeURIComponent(query.payoutNo)),
      ]);
      for (const r of [posR, chR, payoutR]) if (r.status === "rejected" && r.reason && r.reason.status !== 401) RM.showError(r.reason);
      if (posR.status === "rejected" && posR.reason && posR.reason.status === 401) return;
      el.querySelector(".loading").remove();
      if (query.payoutNo) justCreated.delete(query.payoutNo);
      const positions = posR.status === "fulfilled" ? posR.value : [];
      const channels = chR.status === "fulfilled" ? chR.value : [];
      const payoutChannels = channels.filter((c) => (c.capabilities || []).includes("PAYOUT")).map((c) => c.code);
      const have = new Set(positions.map((p) => p.channel));
      const codes = Array.from(new Set(payoutChannels.concat(positions.map((p) => p.channel)))).sort();

      const lowOnes = positions.filter(isLow);
      RM.append(el, [
        payoutR.status === "fulfilled" && payoutR.value ? payoutView(payoutR.value) : null,
        h("section", { class: "card card-tight" }, lookupForm(query.payoutNo)),
        h(
          "div",
          { class: "stat-row" },
          RM.stat("Available to pay out", m(RM.decSum(positions.map((p) => p.available))), positions.length + " positions"),
          RM.stat("Balance", m(RM.decSum(positions.map((p) => p.balance)))),
          RM.stat("Reserved", m(RM.decSum(positions.map((p) => p.reserved))), positions.reduce((a, p) => a + (p.openReservations || 0), 0) + " open reservations"),
          RM.stat("Below watermark", String(lowOnes.length), lowOnes.length ? lowOnes.map((p) => p.channel).join(", ") : "none"),
        ),
        h("h2", null, "Positions"),
        h("div", { class: "grid-positions" }, positions.map(positionCard), payoutChannels.filter((c) => !have.has(c)).map(emptyPositionCard)),
        h(
          "div",
          { class: "grid-2" },
          h("section", { class: "card" }, h("h2", null, "New payout"), payoutForm()),
          h("section", { class: "card" }, h("h2", null, "Top up / withdraw a position"), codes.length ? adjustForm(codes) : h("p", { class: "muted" }, "No payout channel is configured.")),
        ),
      ]);
    },
    "payouts",
  );
})();
