/* Orders: filterable paged list, order detail, and the "New order" form (preview first, then sync). */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;
  const S = RM.schedule;

  function orderHref(o) {
    return "#/orders/" + encodeURIComponent(o.source) + "/" + encodeURIComponent(o.orderNo);
  }
  RM.orderHref = orderHref;

  const FILTERS = [
    { name: "source", label: "Source" },
    { name: "funderId", label: "Funder" },
    { name: "productCode", label: "Product" },
    { name: "bizType", label: "Business type", type: "select", options: S.BIZ_TYPES, emptyLabel: "any" },
    { name: "customerId", label: "Customer id" },
    { name: "status", label: "Status", type: "select", options: ["PLANNING", "ACTIVE"], emptyLabel: "any" },
  ];

  const COLUMNS = [
    { label: "Order", get: (o) => RM.link(orderHref(o), o.source + " / " + o.orderNo), cls: "nowrap" },
    { label: "Funder / product", get: (o) => h("div", null, o.funderId, h("div", { class: "muted small" }, o.productCode + " · " + o.bizType)) },
    { label: "Customer", get: (o) => (o.customer ? h("span", { title: "Customer id " + o.customer.id }, o.customer.name) : "—") },
    { label: "Principal", get: (o) => RM.money(o.terms && o.terms.principal), num: true },
    { label: "Rate", get: (o) => (o.terms ? o.terms.annualRate : "—"), num: true },
    { label: "Term / method", get: (o) => (o.terms ? h("div", null, o.terms.term + " " + (o.terms.termUnit === "DAY" ? "days" : "months"), h("div", { class: "muted small" }, o.terms.repaymentMethod)) : "—") },
    { label: "Plan", get: (o) => (o.planId ? RM.link("#/plans/" + encodeURIComponent(o.planId), o.planId, "mono small") : "—") },
    { label: "Status", get: (o) => RM.badge(o.status) },
    { label: "Created", get: (o) => RM.dt(o.createdAt), cls: "small" },
  ];

  RM.route(
    "/orders",
    async (el, _params, query) => {
      const newBtn = RM.guard(h("a", { class: "btn btn-primary", href: "#/orders/new" }, "+ New order"), "ops");
      if (newBtn.disabled) newBtn.removeAttribute("href");
      RM.append(el, h("div", { class: "page-head" }, h("h1", null, "Orders"), newBtn));
      await RM.listPage(el, { api: "/orders", hashPath: "/orders", filters: FILTERS, columns: COLUMNS, empty: "No orders match these filters" }, query);
    },
    "orders",
  );

  // ------------------------------------------------------------------ detail

  RM.route(
    "/orders/:source/:orderNo",
    async (el, params) => {
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/orders", "Orders"), " / ", params.source + " / " + params.orderNo), h("div", { class: "loading" }, "Loading…")]);
      const o = await RM.api("GET", "/orders/" + encodeURIComponent(params.source) + "/" + encodeURIComponent(params.orderNo));
      RM.clear(el);
      const t = o.terms || {};
      RM.append(el, [
        h("div", { class: "crumbs" }, RM.link("#/orders", "Orders"), " / ", o.source + " / " + o.orderNo),
        h("div", { class: "page-head" }, h("h1", null, "Order ", h("span", { class: "mono" }, o.orderNo)), RM.badge(o.status)),
        h(
          "div",
          { class: "grid-2" },
          h(
            "section",
            { class: "card" },
            h("h2", null, "Order"),
            RM.kv([
              ["Order id", h("span", { class: "mono" }, o.orderId)],
              ["Source / order no", o.source + " / " + o.orderNo],
              ["Business type", o.bizType],
              ["Funder", o.funderId],
              ["Product", o.productCode],
              ["Plan", o.planId ? RM.link("#/plans/" + encodeURIComponent(o.planId), o.planId, "mono") : "—"],
              o.bindingId ? ["Binding", RM.link("#/bindings/" + encodeURIComponent(o.bindingId), o.bindingId, "mono")] : null,
              ["Status", RM.badge(o.status)],
              ["Created", RM.dt(o.createdAt)],
              ["Updated", RM.dt(o.updatedAt)],
            ]),
          ),
          h(
            "section",
            { class: "card" },
            h("h2", null, "Customer"),
            RM.kv([
              ["Customer id", o.customer && o.customer.id],
              ["Name", o.customer && o.customer.name],
              ["ID number", o.customer && h("span", { class: "mono" }, o.customer.idNoMasked)],
              ["Mobile", o.customer && h("span", { class: "mono" }, o.customer.mobileMasked)],
            ]),
            h("h2", null, "Terms"),
            RM.kv([
              ["Principal", RM.money(t.principal)],
              ["Annual rate", t.annualRate],
              ["Term", t.term !== undefined ? t.term + " " + (t.termUnit || "MONTH").toLowerCase() + "(s)" : "—"],
              ["Method", t.repaymentMethod],
              ["Start date", t.startDate],
              t.dueDay ? ["Due day", String(t.dueDay)] : null,
              t.interestBasis ? ["Interest basis", t.interestBasis] : null,
              t.dayCount ? ["Day count", t.dayCount] : null,
              t.leaseTiming ? ["Lease timing", t.leaseTiming] : null,
              t.residual ? ["Residual", RM.money(t.residual)] : null,
              t.fee ? ["Fee per period", RM.money(t.fee)] : null,
              t.customLines ? ["Custom lines", String(t.customLines.length)] : null,
            ]),
          ),
        ),
      ]);
      if (o.planId) {
        const planBox = h("section", { class: "card" }, h("h2", null, "Repayment plan ", RM.link("#/plans/" + encodeURIComponent(o.planId), o.planId, "mono small")), h("div", { class: "loading" }, "Loading…"));
        el.appendChild(planBox);
        try {
          const plan = await RM.api("GET", "/plans/" + encodeURIComponent(o.planId));
          planBox.querySelector(".loading").remove();
          planBox.appendChild(RM.plans.installmentsTable(plan));
        } catch (err) {
          planBox.querySelector(".loading").textContent = "Could not load the plan: " + err.code;
          RM.showError(err);
        }
      }
    },
    "orders",
  );

  // ------------------------------------------------------------------ new order

  const ORDER_FIELDS = [
    { name: "source", label: "Source", required: true, placeholder: "CONSOLE", hint: "Upstream system; (source, order no) is unique" },
    { name: "orderNo", label: "Order no", required: true },
    { name: "bizType", label: "Business type", type: "select", options: S.BIZ_TYPES, required: true },
    { name: "funderId", label: "Funder", required: true, placeholder: "FUNDER_A" },
    { name: "productCode", label: "Product", required: true, placeholder: "PRODUCT_1" },
  ];
  const CUSTOMER_FIELDS = [
    { name: "customer.id", label: "Customer id", required: true },
    { name: "customer.name", label: "Name", required: true },
    { name: "customer.idNo", label: "ID number", required: true, hint: "Stored encrypted/masked; never shown again in full" },
    { name: "customer.mobile", label: "Mobile", required: true, placeholder: "13800138000" },
  ];

  RM.route(
    "/orders/new",
    (el) => {
      const termNames = S.TERM_FIELDS.map((f) => f.name);
      const stamp = (RM.clock && RM.clock.businessDate ? RM.clock.businessDate.replace(/-/g, "") : "") + "-" + Math.random().toString(36).slice(2, 7).toUpperCase();
      const defaults = {
        source: "CONSOLE",
        orderNo: "ORD-" + stamp,
        bizType: "CONSUMER",
        principal: "100000.00",
        annualRate: "0.12",
        term: 12,
        repaymentMethod: "EQUAL_INSTALLMENT",
        startDate: S.today(),
      };
      let previewed = false;
      const previewBox = h("div", null, h("p", { class: "muted" }, "Preview the schedule first; the order can be synced once the preview is good."));
      const staleNote = h("span", { class: "muted" });
      const previewBtn = h("button", { type: "button", class: "btn" }, "1. Preview schedule");
      const syncBtn = RM.guard(h("button", { type: "submit", class: "btn btn-primary", disabled: true }, "2. Sync order"), "ops");
      const canWrite = !syncBtn.classList.contains("forbidden");

      const form = h(
        "form",
        {
          class: "form",
          novalidate: true,
          oninput: (e) => {
            if (previewed && e.target && termNames.includes(e.target.name)) {
              previewed = false;
              syncBtn.disabled = true;
              staleNote.textContent = "Terms changed since the preview — preview again before syncing.";
            }
          },
          onsubmit: async (e) => {
            e.preventDefault();
            if (!previewed) {
              previewBtn.click();
              return;
            }
            const payload = S.readTerms(form, ORDER_FIELDS.concat(CUSTOMER_FIELDS));
            if (!payload) return;
            await RM.busy(syncBtn, async () => {
              try {
                const order = await RM.api("POST", "/orders", { body: payload });
                RM.flash("Order " + order.source + " / " + order.orderNo + " synced; plan " + order.planId + " generated.");
                RM.go("/orders/" + encodeURIComponent(order.source) + "/" + encodeURIComponent(order.orderNo));
              } catch (err) {
                RM.formError(form, err);
              }
            });
            if (!previewed) syncBtn.disabled = true;
          },
        },
        h("section", { class: "card" }, h("h2", null, "Order"), RM.fieldGrid(ORDER_FIELDS, defaults)),
        h("section", { class: "card" }, h("h2", null, "Customer"), RM.fieldGrid(CUSTOMER_FIELDS, defaults)),
        h("section", { class: "card" }, h("h2", null, "Schedule terms"), RM.fieldGrid(S.TERM_FIELDS, defaults)),
        h("ul", { class: "form-errors" }),
        h("div", { class: "form-actions sticky-actions" }, previewBtn, syncBtn, staleNote, canWrite ? null : h("span", { class: "muted" }, "Your role may preview but not sync orders.")),
      );
      previewBtn.addEventListener("click", async () => {
        const payload = S.readTerms(form, ORDER_FIELDS.concat(CUSTOMER_FIELDS).map((d) => Object.assign({}, d, { required: false })));
        if (!payload) return;
        await RM.busy(previewBtn, async () => {
          try {
            const p = await S.preview(S.pickTerms(payload));
            RM.clear(previewBox);
            previewBox.appendChild(S.scheduleTable(p));
            previewed = true;
            staleNote.textContent = "Preview is up to date.";
          } catch (err) {
            previewed = false;
            RM.formError(form, err);
          }
        });
        syncBtn.disabled = !previewed || !canWrite;
      });
      RM.append(el, [
        h("div", { class: "crumbs" }, RM.link("#/orders", "Orders"), " / New order"),
        h("h1", null, "New order"),
        h("p", { class: "muted" }, "Syncing is idempotent on (source, order no): the same request again returns the same order; different content is a 409 ORDER_CONFLICT."),
        form,
        h("section", { class: "card" }, h("h2", null, "Schedule preview"), previewBox),
      ]);
    },
    "orders",
  );
})();
