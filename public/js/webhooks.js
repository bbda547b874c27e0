/*
 * Webhooks: subscriptions of external endpoints to events (list, create — the signing secret is shown
 * once —, enable/disable, rotate the secret, ping, delete) and their deliveries (list with filters and
 * status, detail with the event and the attempt log, redeliver).
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;

  const EVENT_TYPES = [
    "order.synced",
    "plan.generated",
    "binding.signed",
    "binding.unbound",
    "trade.succeeded",
    "trade.failed",
    "trade.unknown",
    "trade.needs_reconciliation",
    "installment.paid",
    "installment.overdue",
    "plan.settled",
    "plan.paused",
    "plan.resumed",
    "plan.rescheduled",
    "plan.transferred",
    "reconciliation.completed",
    "reconciliation.discrepancy",
    "reconciliation.trade_settled",
  ];
  const STATUSES = ["PENDING", "SENDING", "RETRYING", "SUCCEEDED", "FAILED", "CANCELLED"];
  const STATUS_KIND = { PENDING: "pending", SENDING: "sending", RETRYING: "warn", SUCCEEDED: "succeeded", FAILED: "failed", CANCELLED: "muted" };

  /** A secret returned by create or rotate, shown on the next render of that subscription only. */
  let freshSecret = null;

  function statusBadge(s) {
    return RM.badge(s, STATUS_KIND[s]);
  }

  function webhookHref(id) {
    return "#/webhooks/" + encodeURIComponent(id);
  }

  function deliveryHref(id) {
    return "#/webhook-deliveries/" + encodeURIComponent(id);
  }

  function subTabs(active) {
    const tab = (id, href, label) => h("a", { href, class: active === id ? "active" : "" }, label);
    return h("div", { class: "tabs" }, tab("subscriptions", "#/webhooks", "Subscriptions"), tab("deliveries", "#/webhook-deliveries", "Deliveries"));
  }

  function typesText(types) {
    return (types || []).includes("*") ? "every event (*)" : (types || []).join(", ");
  }

  function enabledBadge(w) {
    if (w.deleted) return RM.badge("deleted", "deleted");
    return w.enabled ? RM.badge("enabled", "enabled") : RM.badge("disabled", "muted");
  }

  function secretBox() {
    if (!freshSecret) return null;
    const s = freshSecret;
    freshSecret = null;
    return h(
      "section",
      { class: "card note" },
      h("h2", null, s.rotated ? "New signing secret" : "Signing secret"),
      h("p", null, "Copy it now: it is shown this once and is never displayed again (only its encrypted form is kept)."),
      h("pre", { class: "json mono" }, s.secret),
      h("p", { class: "muted small" }, "Consumers verify X-RepayMesh-Signature: v1=hex(HMAC-SHA256(secret, X-RepayMesh-Timestamp + \".\" + raw body)) and refuse timestamps older than 5 minutes."),
    );
  }

  async function act(button, fn, done) {
    await RM.busy(button, async () => {
      try {
        const r = await fn();
        if (done) done(r);
        RM.render();
      } catch (err) {
        RM.showError(err);
      }
    });
  }

  // ------------------------------------------------------------------ subscriptions

  function createForm() {
    const defs = [
      { name: "url", label: "Endpoint URL", required: true, wide: true, placeholder: "https://erp.example.com/repaymesh/webhooks", hint: "http or https, up to 2000 characters; it gets a signed POST per event" },
      { name: "description", label: "Description", wide: true, placeholder: "optional" },
      { name: "secret", label: "Secret", placeholder: "leave empty to generate one", hint: "At least 16 characters; shown once after saving" },
    ];
    const all = h("input", { type: "checkbox", name: "all" });
    const boxes = EVENT_TYPES.map((t) => h("label", { class: "chip" }, h("input", { type: "checkbox", name: "type", value: t }), " ", t));
    const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Subscribe"), "admin");
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
          const types = all.checked ? ["*"] : boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
          const problems = [];
          if (!/^https?:\/\//i.test(v.url)) problems.push({ field: "url", message: "An http:// or https:// URL" });
          if (!types.length) problems.push({ field: "eventTypes", message: "Choose at least one event type, or every event" });
          if (v.secret && v.secret.length < 16) problems.push({ field: "secret", message: "At least 16 characters" });
          if (problems.length) {
            RM.showFieldErrors(form, problems);
            return;
          }
          const body = { url: v.url, eventTypes: types };
          if (v.description) body.description = v.description;
          if (v.secret) body.secret = v.secret;
          await RM.busy(submit, async () => {
            try {
              const w = await RM.api("POST", "/webhooks", { body });
              freshSecret = { secret: w.secret, rotated: false };
              RM.flash("Subscribed " + w.url + " to " + typesText(w.eventTypes) + ".");
              RM.go("/webhooks/" + encodeURIComponent(w.id));
            } catch (err) {
              RM.formError(form, err);
            }
          });
        },
      },
      RM.fieldGrid(defs, {}),
      h(
        "div",
        { class: "field field-wide", dataset: { name: "eventTypes" } },
        h("label", null, "Event types", h("span", { class: "req", title: "required" }, " *")),
        h("label", { class: "chip" }, all, " every event (*)"),
        h("div", { class: "chips" }, boxes),
        h("div", { class: "field-error", dataset: { field: "eventTypes" } }),
      ),
      h("ul", { class: "form-errors" }),
      h("div", { class: "form-actions" }, submit, RM.can("admin") ? null : h("span", { class: "muted small" }, "Subscribing needs the admin role.")),
    );
    return form;
  }

  const FILTERS = [
    { name: "enabled", label: "Enabled", type: "select", options: ["true", "false"], emptyLabel: "any" },
    { name: "includeDeleted", label: "Deleted too", type: "select", options: ["true"], emptyLabel: "no" },
  ];

  const COLUMNS = [
    { label: "Subscription", get: (w) => RM.link(webhookHref(w.id), w.id, "mono small"), cls: "nowrap" },
    { label: "Endpoint", get: (w) => h("div", null, h("span", { class: "mono small" }, w.url), w.description ? h("div", { class: "muted small" }, w.description) : null) },
    { label: "Events", get: (w) => typesText(w.eventTypes) },
    { label: "State", get: enabledBadge },
    { label: "Secret rotated", get: (w) => RM.dt(w.secretRotatedAt), cls: "small nowrap" },
    { label: "Created", get: (w) => h("div", { class: "small nowrap" }, RM.dt(w.createdAt), h("div", { class: "muted" }, w.createdBy)) },
    { label: "", get: (w) => RM.link("#/webhook-deliveries?subscriptionId=" + encodeURIComponent(w.id), "Deliveries", "btn btn-small") },
  ];

  RM.route(
    "/webhooks",
    async (el, _params, query) => {
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Webhooks"), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        subTabs("subscriptions"),
        h("p", { class: "muted" }, "External systems hear of RepayMesh's events through signed HTTP POSTs, retried on a back-off until they answer 2xx."),
        h("details", { class: "card collapsible" }, h("summary", null, h("h2", null, "New subscription")), createForm()),
      ]);
      await RM.listPage(el, { api: "/webhooks", hashPath: "/webhooks", filters: FILTERS, columns: COLUMNS, empty: "No webhook subscriptions", rowClass: (w) => (w.deleted || !w.enabled ? "row-muted" : undefined) }, query);
    },
    "webhooks",
  );

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
          h("span", { class: "timeline-dot" + (e.action === "DELETED" ? " timeline-failed" : "") }),
          h(
            "div",
            { class: "timeline-body" },
            h("div", null, RM.badge(e.action, "muted"), " by ", h("strong", null, e.by || "—")),
            h("div", { class: "muted small" }, RM.dt(e.at)),
            e.fields ? h("div", { class: "small" }, "changed: " + e.fields.join(", ")) : null,
          ),
        ),
      ),
    );
  }

  function editForm(w) {
    const defs = [
      { name: "url", label: "Endpoint URL", required: true, wide: true },
      { name: "description", label: "Description", wide: true },
    ];
    const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Save"), "admin");
    const all = h("input", { type: "checkbox", name: "all", checked: (w.eventTypes || []).includes("*") });
    const boxes = EVENT_TYPES.map((t) => h("label", { class: "chip" }, h("input", { type: "checkbox", name: "type", value: t, checked: (w.eventTypes || []).includes(t) }), " ", t));
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
          const types = all.checked ? ["*"] : boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
          if (!types.length) {
            RM.showFieldErrors(form, [{ field: "eventTypes", message: "Choose at least one event type, or every event" }]);
            return;
          }
          await RM.busy(submit, async () => {
            try {
              await RM.api("PATCH", "/webhooks/" + encodeURIComponent(w.id), { body: { url: v.url, description: v.description || "", eventTypes: types } });
              RM.flash("Subscription " + w.id + " saved.");
              RM.render();
            } catch (err) {
              RM.formError(form, err);
            }
          });
        },
      },
      RM.fieldGrid(defs, { url: w.url, description: w.description }),
      h(
        "div",
        { class: "field field-wide", dataset: { name: "eventTypes" } },
        h("label", null, "Event types"),
        h("label", { class: "chip" }, all, " every event (*)"),
        h("div", { class: "chips" }, boxes),
        h("div", { class: "field-error", dataset: { field: "eventTypes" } }),
      ),
      h("ul", { class: "form-errors" }),
      h("div", { class: "form-actions" }, submit),
    );
    return form;
  }

  RM.route(
    "/webhooks/:id",
    async (el, params) => {
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/webhooks", "Webhooks"), " / ", params.id), h("div", { class: "loading" }, "Loading…")]);
      const w = await RM.api("GET", "/webhooks/" + encodeURIComponent(params.id));
      const secret = secretBox();
      RM.clear(el);
      const path = "/webhooks/" + encodeURIComponent(w.id);
      const live = !w.deleted;
      const toggle = live ? RM.guard(h("button", { type: "button", class: "btn" }, w.enabled ? "Disable" : "Enable"), "admin") : null;
      if (toggle) {
        toggle.addEventListener("click", () => {
          if (w.enabled && !window.confirm("Disable " + w.url + "? Its queued deliveries are cancelled (they can be redelivered later).")) return;
          act(toggle, () => RM.api("PATCH", path, { body: { enabled: !w.enabled } }), () => RM.flash("Subscription " + (w.enabled ? "disabled" : "enabled") + "."));
        });
      }
      const ping = live && w.enabled ? RM.guard(h("button", { type: "button", class: "btn" }, "Ping"), "ops") : null;
      if (ping) ping.addEventListener("click", () => act(ping, () => RM.api("POST", path + "/ping", { body: {} }), (d) => RM.flash("Ping queued as delivery " + d.id + ".")));
      const rotate = live ? RM.guard(h("button", { type: "button", class: "btn" }, "Rotate secret"), "admin") : null;
      if (rotate) {
        rotate.addEventListener("click", () => {
          if (!window.confirm("Replace the signing secret of " + w.id + "? Requests are signed with the new one at once: update the consumer right away.")) return;
          act(rotate, () => RM.api("POST", path + "/rotate-secret", { body: {} }), (r) => {
            freshSecret = { secret: r.secret, rotated: true };
          });
        });
      }
      const del = live ? RM.guard(h("button", { type: "button", class: "btn btn-danger" }, "Delete"), "admin") : null;
      if (del) {
        del.addEventListener("click", () => {
          if (!window.confirm("Delete subscription " + w.id + " (" + w.url + ")? It stops receiving events; queued deliveries are cancelled.")) return;
          act(del, () => RM.api("DELETE", path), () => RM.flash("Subscription " + w.id + " deleted."));
        });
      }
      RM.append(el, [
        h("div", { class: "crumbs" }, RM.link("#/webhooks", "Webhooks"), " / ", w.id),
        h("div", { class: "page-head" }, h("h1", null, "Webhook ", h("span", { class: "mono" }, w.id)), enabledBadge(w), ping, toggle, rotate, del, h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        secret,
        h(
          "div",
          { class: "grid-2" },
          h(
            "section",
            { class: "card" },
            h("h2", null, "Subscription"),
            RM.kv([
              ["Endpoint", h("span", { class: "mono small" }, w.url)],
              ["Events", typesText(w.eventTypes)],
              ["State", enabledBadge(w)],
              w.description ? ["Description", w.description] : null,
              ["Secret", h("span", { class: "muted" }, "hidden (rotated " + RM.dt(w.secretRotatedAt) + ")")],
              ["Created", RM.dt(w.createdAt) + " by " + w.createdBy],
              ["Updated", RM.dt(w.updatedAt) + " by " + w.updatedBy],
              ["Deliveries", RM.link("#/webhook-deliveries?subscriptionId=" + encodeURIComponent(w.id), "See deliveries")],
            ]),
          ),
          h("section", { class: "card" }, h("h2", null, "History"), historyList(w.history)),
        ),
        live ? h("details", { class: "card collapsible" }, h("summary", null, h("h2", null, "Edit")), editForm(w)) : null,
      ]);
    },
    "webhooks",
  );

  // ------------------------------------------------------------------ deliveries

  const DELIVERY_FILTERS = [
    { name: "subscriptionId", label: "Subscription" },
    { name: "status", label: "Status", type: "select", options: STATUSES, emptyLabel: "any" },
    { name: "type", label: "Event type", type: "select", options: EVENT_TYPES.concat(["webhook.ping"]), emptyLabel: "any" },
    { name: "eventId", label: "Event id" },
  ];

  const DELIVERY_COLUMNS = [
    { label: "Delivery", get: (d) => RM.link(deliveryHref(d.id), d.eventId, "mono small"), cls: "nowrap" },
    { label: "Event", get: (d) => h("div", null, h("strong", null, d.type), d.key ? h("div", { class: "muted small mono" }, d.key) : null) },
    { label: "Subscription", get: (d) => RM.link(webhookHref(d.subscriptionId), d.subscriptionId, "mono small") },
    { label: "Status", get: (d) => statusBadge(d.status) },
    { label: "Attempts", get: (d) => String(d.attempts), num: true },
    { label: "Last answer", get: (d) => (d.lastError ? h("span", { class: "err-text small" }, d.lastError) : d.lastStatus ? "HTTP " + d.lastStatus : "—") },
    { label: "Next attempt", get: (d) => (d.status === "PENDING" || d.status === "RETRYING" ? RM.dt(d.nextAttemptAt) : "—"), cls: "small nowrap" },
    { label: "Created", get: (d) => RM.dt(d.createdAt), cls: "small nowrap" },
  ];

  RM.route(
    "/webhook-deliveries",
    async (el, _params, query) => {
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Webhook deliveries"), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        subTabs("deliveries"),
        h("p", { class: "muted" }, "One delivery per event and subscription. RETRYING waits for its next attempt on the back-off; FAILED ran out of retries (redeliver by hand); CANCELLED: the subscription was disabled or deleted."),
      ]);
      await RM.listPage(
        el,
        { api: "/webhooks/deliveries", hashPath: "/webhook-deliveries", filters: DELIVERY_FILTERS, columns: DELIVERY_COLUMNS, empty: "No deliveries match these filters", rowClass: (d) => (d.status === "FAILED" ? "row-failed" : d.status === "RETRYING" ? "row-attention" : undefined) },
        query,
      );
    },
    "webhooks",
  );

  function logTable(log) {
    const cols = [
      { label: "#", get: (e) => (e.kind === "ATTEMPT" ? String(e.attempt) : "—"), num: true },
      { label: "What", get: (e) => RM.badge(e.kind, e.kind === "ATTEMPT" ? (e.httpStatus >= 200 && e.httpStatus < 300 ? "ok" : "err") : "muted") },
      { label: "At", get: (e) => RM.dt(e.at), cls: "small nowrap" },
      { label: "HTTP", get: (e) => (e.httpStatus !== undefined ? String(e.httpStatus) : "—"), num: true },
      { label: "ms", get: (e) => (e.ms !== undefined ? String(e.ms) : "—"), num: true },
      { label: "Error / who", get: (e) => (e.error ? h("span", { class: "err-text small" }, e.error) : e.by ? h("span", null, e.by, e.reason ? h("span", { class: "muted small" }, " — " + e.reason) : null) : e.reason || "—") },
      { label: "Answer (first 500 characters)", get: (e) => (e.response ? h("code", { class: "small" }, e.response) : "—") },
      { label: "Node", get: (e) => e.nodeID || "—", cls: "small muted" },
    ];
    return RM.table(cols, log || [], { empty: "No attempt yet", rowClass: (e) => (e.kind === "ATTEMPT" && !(e.httpStatus >= 200 && e.httpStatus < 300) ? "row-failed" : undefined) });
  }

  RM.route(
    "/webhook-deliveries/:id",
    async (el, params) => {
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/webhook-deliveries", "Deliveries"), " / ", params.id), h("div", { class: "loading" }, "Loading…")]);
      const d = await RM.api("GET", "/webhooks/deliveries/" + encodeURIComponent(params.id));
      RM.clear(el);
      const redeliver = RM.guard(h("button", { type: "button", class: "btn btn-primary" }, "Redeliver"), "ops");
      redeliver.addEventListener("click", async () => {
        const reason = window.prompt("Send delivery " + d.id + " (" + d.type + ") again now? It starts a new retry cycle and is recorded in its log with your name.\n\nReason (optional):", "");
        if (reason === null) return;
        const body = reason.trim() ? { reason: reason.trim().slice(0, 200) } : {};
        await act(redeliver, () => RM.api("POST", "/webhooks/deliveries/" + encodeURIComponent(d.id) + "/redeliver", { body }), () => RM.flash("Delivery " + d.id + " queued again."));
      });
      const attempts = (d.log || []).filter((e) => e.kind === "ATTEMPT");
      RM.append(el, [
        h("div", { class: "crumbs" }, RM.link("#/webhook-deliveries", "Deliveries"), " / ", d.id),
        h("div", { class: "page-head" }, h("h1", null, "Delivery ", h("span", { class: "mono small" }, d.id)), statusBadge(d.status), redeliver, h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        h(
          "div",
          { class: "stat-row" },
          RM.stat("Event", d.type),
          RM.stat("Status", d.status),
          RM.stat("Attempts", String(d.attempts)),
          RM.stat("Last HTTP", d.lastStatus !== undefined ? String(d.lastStatus) : "—"),
          RM.stat("Next attempt", d.status === "PENDING" || d.status === "RETRYING" ? RM.dt(d.nextAttemptAt) : "—"),
        ),
        h(
          "div",
          { class: "grid-2" },
          h(
            "section",
            { class: "card" },
            h("h2", null, "Delivery"),
            RM.kv([
              ["Subscription", RM.link(webhookHref(d.subscriptionId), d.subscriptionId, "mono")],
              ["Event id", h("span", { class: "mono small" }, d.eventId)],
              ["Type", d.type],
              ["Status", statusBadge(d.status)],
              d.lastError ? ["Last error", h("span", { class: "err-text" }, d.lastError)] : null,
              d.succeededAt ? ["Succeeded", RM.dt(d.succeededAt)] : null,
              d.failedAt ? ["Failed", RM.dt(d.failedAt)] : null,
              d.claimedBy ? ["Being sent by", d.claimedBy + " (lease until " + RM.dt(d.claimedUntil) + ")"] : null,
              ["Created", RM.dt(d.createdAt)],
              ["Updated", RM.dt(d.updatedAt)],
            ]),
          ),
          h("section", { class: "card" }, h("h2", null, "Event sent (the signed body)"), h("pre", { class: "json" }, RM.pretty(d.envelope))),
        ),
        h("section", { class: "card" }, h("h2", null, "Log (" + attempts.length + " attempt" + (attempts.length === 1 ? "" : "s") + ")"), logTable(d.log)),
      ]);
    },
    "webhooks",
  );
})();
