/*
 * Bindings (签约绑卡): list, "Bind a card" (card details → one SMS code per channel → confirm),
 * binding detail with its agreements, and unbinding. The full card number is sent once and never
 * shown or kept: the field is cleared as soon as the request is made.
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;

  /** SMS codes the simulated banks returned with a new binding, kept in memory only until the confirm step shows them. */
  const pendingCodes = new Map();

  function bindingHref(id) {
    return "#/bindings/" + encodeURIComponent(id);
  }

  function agreementChips(b) {
    return h(
      "div",
      { class: "chips" },
      (b.agreements || []).map((a) => h("span", { class: "chip", title: a.failure ? RM.trades.failureText(a.failure) + (a.failure.message ? ": " + a.failure.message : "") : a.agreementNo || undefined }, a.channel + " ", RM.badge(a.status))),
    );
  }

  async function unbind(b, button, after) {
    if (!window.confirm("Unbind card " + b.cardMasked + " of customer " + b.customerId + "? Its agreements end and debits stop using this card.")) return;
    await RM.busy(button, async () => {
      try {
        await RM.api("DELETE", "/bindings/" + encodeURIComponent(b.bindingId));
        RM.flash("Binding " + b.bindingId + " (" + b.cardMasked + ") unbound.");
        after();
      } catch (err) {
        RM.showError(err);
      }
    });
  }

  function unbindButton(b, after, small) {
    if (b.status === "UNBOUND" || b.status === "FAILED") return null;
    const btn = RM.guard(h("button", { type: "button", class: "btn btn-danger" + (small ? " btn-small" : "") }, "Unbind"), "ops");
    btn.addEventListener("click", () => unbind(b, btn, after));
    return btn;
  }

  // ------------------------------------------------------------------ list

  const FILTERS = [
    { name: "customerId", label: "Customer id" },
    { name: "status", label: "Status", type: "select", options: ["PENDING", "ACTIVE", "UNBOUND", "FAILED"], emptyLabel: "any" },
  ];

  const COLUMNS = [
    { label: "Binding", get: (b) => RM.link(bindingHref(b.bindingId), b.bindingId, "mono small"), cls: "nowrap" },
    { label: "Customer", get: (b) => h("div", null, b.customerId, h("div", { class: "muted small" }, b.holderName)) },
    { label: "Card", get: (b) => h("span", { class: "mono nowrap" }, b.cardMasked) },
    { label: "ID / mobile", get: (b) => h("div", { class: "mono small" }, b.idNoMasked, h("div", null, b.mobileMasked)) },
    { label: "Status", get: (b) => RM.badge(b.status) },
    { label: "Agreements", get: agreementChips },
    { label: "Created", get: (b) => RM.dt(b.createdAt), cls: "small nowrap" },
    {
      label: "",
      get: (b) =>
        h(
          "div",
          { class: "row-actions" },
          b.status === "PENDING" ? RM.link(bindingHref(b.bindingId), "Confirm", "btn btn-small") : null,
          unbindButton(b, () => RM.render(), true),
        ),
    },
  ];

  RM.route(
    "/bindings",
    async (el, _params, query) => {
      const newBtn = RM.guard(h("a", { class: "btn btn-primary", href: "#/bindings/new" }, "+ Bind a card"), "ops");
      if (newBtn.disabled) newBtn.removeAttribute("href");
      RM.append(el, h("div", { class: "page-head" }, h("h1", null, "Card bindings"), newBtn));
      await RM.listPage(el, { api: "/bindings", hashPath: "/bindings", filters: FILTERS, columns: COLUMNS, empty: "No bindings match these filters" }, query);
    },
    "bindings",
  );

  // ------------------------------------------------------------------ bind a card

  const BIND_FIELDS = [
    { name: "customerId", label: "Customer id", required: true },
    { name: "name", label: "Card holder name", required: true },
    { name: "idNo", label: "ID number", required: true, hint: "Stored encrypted; shown masked" },
    { name: "mobile", label: "Mobile (bank-reserved)", required: true, placeholder: "13800138000" },
    { name: "cardNo", label: "Card number", required: true, hint: "12-19 digits; sent once, never shown again" },
  ];

  RM.route(
    "/bindings/new",
    async (el) => {
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/bindings", "Bindings"), " / Bind a card"), h("h1", null, "Bind a card"), h("div", { class: "loading" }, "Loading channels…")]);
      const channels = await RM.api("GET", "/channels");
      el.querySelector(".loading").remove();
      const signing = channels.filter((c) => (c.capabilities || []).includes("SIGN"));
      const boxes = signing.map((c) => h("input", { type: "checkbox", name: "channel", value: c.code, checked: c.breaker !== "OPEN" }));
      const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Send SMS codes"), "ops");

      const form = h(
        "form",
        {
          class: "form",
          novalidate: true,
          autocomplete: "off",
          onsubmit: async (e) => {
            e.preventDefault();
            const cardInput = form.querySelector('[name="cardNo"]');
            const v = RM.readFields(form, BIND_FIELDS);
            if (!v) return;
            const problems = [];
            v.cardNo = String(v.cardNo).replace(/\s+/g, "");
            if (!/^\d{12,19}$/.test(v.cardNo)) problems.push({ field: "cardNo", message: "Card number must be 12-19 digits" });
            v.channels = boxes.filter((b) => b.checked).map((b) => b.value);
            if (!v.channels.length) problems.push({ field: "channels", message: "Pick at least one channel" });
            if (problems.length) {
              RM.showFieldErrors(form, problems);
              return;
            }
            // The full number leaves the page with this request and is not kept anywhere.
            cardInput.value = "";
            await RM.busy(submit, async () => {
              try {
                const res = await RM.api("POST", "/bindings", { body: v });
                v.cardNo = "";
                if (res.testCodes) pendingCodes.set(res.bindingId, res.testCodes);
                RM.flash("Binding " + res.bindingId + " created for card " + res.cardMasked + ": confirm the SMS code of each channel.");
                RM.go("/bindings/" + encodeURIComponent(res.bindingId));
              } catch (err) {
                v.cardNo = "";
                RM.formError(form, err);
              }
            });
          },
        },
        h("section", { class: "card" }, h("h2", null, "Card holder and card"), RM.fieldGrid(BIND_FIELDS, {})),
        h(
          "section",
          { class: "card" },
          h("h2", null, "Channels"),
          h("p", { class: "muted small" }, "Each channel sends its own SMS code and signs its own agreement (协议). Channels whose breaker is OPEN are unticked."),
          h(
            "div",
            { class: "channel-picks" },
            signing.map((c, i) => h("label", { class: "check" }, boxes[i], " " + c.code + " ", RM.badge(c.breaker))),
          ),
          h("div", { class: "field-error", dataset: { field: "channels" } }),
        ),
        h("ul", { class: "form-errors" }),
        h("div", { class: "form-actions" }, submit, h("span", { class: "muted small" }, "Step 1 of 2 — step 2 confirms the codes.")),
      );
      el.appendChild(form);
      const cardInput = form.querySelector('[name="cardNo"]');
      if (cardInput) {
        cardInput.setAttribute("inputmode", "numeric");
        cardInput.setAttribute("autocomplete", "off");
      }
    },
    "bindings",
  );

  // ------------------------------------------------------------------ detail + confirm step

  function confirmForm(b, codes) {
    const pending = (b.agreements || []).filter((a) => a.status === "PENDING");
    const defs = pending.map((a) => ({ name: "codes." + a.channel, label: a.channel + " SMS code", placeholder: "6 digits", hint: codes && codes[a.channel] ? "Pre-filled from the simulated bank's testCodes" : undefined }));
    const values = { codes: codes || {} };
    const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Confirm"), "ops");
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
          const given = v.codes || {};
          const problems = Object.keys(given)
            .filter((k) => !/^\d{4,8}$/.test(given[k]))
            .map((k) => ({ field: "codes." + k, message: "4-8 digits" }));
          if (!Object.keys(given).length) problems.push({ field: defs[0].name, message: "Enter at least one code" });
          if (problems.length) {
            RM.showFieldErrors(form, problems);
            return;
          }
          await RM.busy(submit, async () => {
            try {
              const res = await RM.api("POST", "/bindings/" + encodeURIComponent(b.bindingId) + "/confirm", { body: { codes: given } });
              pendingCodes.delete(b.bindingId);
              const active = (res.agreements || []).filter((a) => a.status === "ACTIVE").map((a) => a.channel);
              RM.flash("Binding " + res.bindingId + " is " + res.status + (active.length ? " (signed: " + active.join(", ") + ")" : "") + ".");
              RM.render();
            } catch (err) {
              RM.formError(form, err);
              if (err && err.code === "SIGN_FAILED") pendingCodes.delete(b.bindingId);
            }
          });
        },
      },
      RM.fieldGrid(defs, values),
      h("ul", { class: "form-errors" }),
      h("div", { class: "form-actions" }, submit, h("span", { class: "muted small" }, "Step 2 of 2 — codes for channels left empty stay pending.")),
    );
    return form;
  }

  RM.route(
    "/bindings/:bindingId",
    async (el, params) => {
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/bindings", "Bindings"), " / ", params.bindingId), h("div", { class: "loading" }, "Loading…")]);
      const b = await RM.api("GET", "/bindings/" + encodeURIComponent(params.bindingId));
      RM.clear(el);
      const hasPending = (b.agreements || []).some((a) => a.status === "PENDING") && b.status !== "UNBOUND" && b.status !== "FAILED";
      const agreementCols = [
        { label: "Channel", get: (a) => h("strong", null, a.channel) },
        { label: "Status", get: (a) => RM.badge(a.status) },
        { label: "Agreement no", get: (a) => (a.agreementNo ? h("span", { class: "mono small" }, a.agreementNo) : "—") },
        { label: "Failure", get: (a) => RM.trades.failureCell(a.failure) },
        { label: "Updated", get: (a) => RM.dt(a.updatedAt), cls: "small nowrap" },
      ];
      RM.append(el, [
        h("div", { class: "crumbs" }, RM.link("#/bindings", "Bindings"), " / ", b.bindingId),
        h("div", { class: "page-head" }, h("h1", null, "Binding ", h("span", { class: "mono" }, b.bindingId)), RM.badge(b.status), unbindButton(b, () => RM.render(), false)),
        hasPending
          ? h(
              "section",
              { class: "card card-highlight" },
              h("h2", null, "Confirm the SMS codes"),
              h("p", { class: "muted small" }, "Each channel texted a code to " + b.mobileMasked + "."),
              confirmForm(b, pendingCodes.get(b.bindingId)),
            )
          : null,
        h(
          "div",
          { class: "grid-2" },
          h(
            "section",
            { class: "card" },
            h("h2", null, "Card"),
            RM.kv([
              ["Customer", RM.link("#/bindings?customerId=" + encodeURIComponent(b.customerId), b.customerId)],
              ["Holder", b.holderName],
              ["Card", h("span", { class: "mono" }, b.cardMasked)],
              ["ID number", h("span", { class: "mono" }, b.idNoMasked)],
              ["Mobile", h("span", { class: "mono" }, b.mobileMasked)],
              ["Status", RM.badge(b.status)],
              b.version !== undefined ? ["Version", String(b.version)] : null,
              ["Created", RM.dt(b.createdAt)],
              b.updatedAt ? ["Updated", RM.dt(b.updatedAt)] : null,
            ]),
          ),
          h("section", { class: "card" }, h("h2", null, "Agreements"), RM.table(agreementCols, b.agreements || [], { empty: "No agreements" })),
        ),
      ]);
    },
    "bindings",
  );
})();
