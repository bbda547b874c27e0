/*
 * Rules: rule sets by kind, detail with a JSON content editor (validated client-side before
 * sending), create, update with expectedVersion, delete (admin), per-rule history with before/after
 * side by side, and the global audit log ("who did what").
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;
  const BIZ_TYPES = RM.schedule.BIZ_TYPES;

  let kindsCache = null;
  async function kinds() {
    if (!kindsCache) kindsCache = await RM.api("GET", "/rules/kinds");
    return kindsCache;
  }

  function ruleHref(id) {
    return "#/rules/" + encodeURIComponent(id);
  }

  function scopeText(scope) {
    const s = scope || {};
    const parts = ["bizType", "funderId", "productCode"].filter((k) => s[k]).map((k) => k + "=" + s[k]);
    return parts.length ? parts.join(", ") : "global (all)";
  }

  function compact(v) {
    if (v === undefined) return "—";
    return JSON.stringify(v);
  }

  // ------------------------------------------------------------------ JSON editor

  /** A textarea holding pretty JSON, with live validation, a Format button and the kind's schema. */
  function jsonEditor(name, value, schema) {
    const ta = h("textarea", { name, rows: 18, spellcheck: "false", class: "json-editor", "aria-label": "Content (JSON)" });
    ta.value = value === undefined ? "{\n}" : RM.pretty(value);
    const status = h("div", { class: "json-status" });
    const schemaBox = h("details", { class: "schema" }, h("summary", null, "Content schema of this kind"), h("pre", { class: "json" }, schema ? RM.pretty(schema) : "—"));
    function check() {
      const r = parse();
      status.className = "json-status " + (r.ok ? "json-ok" : "json-bad");
      status.textContent = r.ok ? "✓ Valid JSON object" : "✗ " + r.error;
      return r;
    }
    function parse() {
      let v;
      try {
        v = JSON.parse(ta.value);
      } catch (e) {
        return { ok: false, error: "Not valid JSON: " + e.message };
      }
      if (v === null || typeof v !== "object" || Array.isArray(v)) return { ok: false, error: "The content must be a JSON object { … }" };
      return { ok: true, value: v };
    }
    ta.addEventListener("input", check);
    ta.addEventListener("keydown", (e) => {
      // Tab inserts two spaces instead of leaving the editor.
      if (e.key === "Tab" && !e.shiftKey) {
        e.preventDefault();
        const s = ta.selectionStart;
        ta.value = ta.value.slice(0, s) + "  " + ta.value.slice(ta.selectionEnd);
        ta.selectionStart = ta.selectionEnd = s + 2;
      }
    });
    const formatBtn = h(
      "button",
      {
        type: "button",
        class: "btn btn-small",
        onclick: () => {
          const r = check();
          if (r.ok) ta.value = RM.pretty(r.value);
        },
      },
      "Format",
    );
    check();
    const el = h(
      "div",
      { class: "field field-wide" },
      h("label", null, "Content (JSON)", h("span", { class: "req" }, " *")),
      ta,
      h("div", { class: "json-bar" }, status, formatBtn),
      h("div", { class: "field-error", dataset: { field: name } }),
      schemaBox,
    );
    return {
      el,
      textarea: ta,
      setSchema(s) {
        schemaBox.querySelector("pre").textContent = s ? RM.pretty(s) : "—";
      },
      setValue(v) {
        ta.value = RM.pretty(v);
        check();
      },
      /** The parsed object, or null with the problem shown next to the editor. */
      read(container) {
        const r = check();
        if (!r.ok) {
          RM.showFieldErrors(container, [{ field: name, message: r.error }]);
          return null;
        }
        return r.value;
      },
    };
  }

  // ------------------------------------------------------------------ history / diff

  function changesTable(before, after, limit) {
    const changes = RM.diff(before, after);
    if (!changes.length) return h("p", { class: "muted small" }, "No field changed.");
    const max = limit || changes.length;
    const shown = changes.slice(0, max);
    return h(
      "div",
      null,
      RM.table(
        [
          { label: "Field", get: (c) => h("code", null, c.path) },
          { label: "Before", get: (c) => h("code", { class: "diff-del" }, compact(c.before)) },
          { label: "After", get: (c) => h("code", { class: "diff-add" }, compact(c.after)) },
        ],
        shown,
      ),
      changes.length > max ? h("p", { class: "muted small" }, "+ " + (changes.length - max) + " more changes") : null,
    );
  }

  /** Before and after as pretty JSON, side by side; lines only on one side are highlighted. */
  function sideBySide(before, after) {
    const a = before ? RM.pretty(before).split("\n") : [];
    const b = after ? RM.pretty(after).split("\n") : [];
    const inA = new Set(a);
    const inB = new Set(b);
    const pane = (title, lines, other, cls) =>
      h(
        "div",
        { class: "diff-pane" },
        h("div", { class: "diff-title" }, title),
        h("pre", { class: "json" }, lines.length ? lines.map((l) => h("div", { class: other.has(l) ? "" : cls }, l || " ")) : h("div", { class: "muted" }, "(nothing)")),
      );
    return h("div", { class: "diff-grid" }, pane("Before", a, inB, "diff-del"), pane("After", b, inA, "diff-add"));
  }

  function historyView(entries) {
    if (!entries.length) return h("p", { class: "muted" }, "No history.");
    return h(
      "div",
      { class: "history" },
      entries.map((e, i) =>
        h(
          "div",
          { class: "history-entry" },
          h("div", { class: "history-head" }, h("strong", null, "v" + e.version), RM.badge(e.action), " by ", h("strong", null, e.by), " at ", RM.dt(e.at)),
          changesTable(e.before, e.after, 20),
          h("details", { open: i === 0 || undefined }, h("summary", null, "Before / after"), sideBySide(e.before, e.after)),
        ),
      ),
    );
  }

  // ------------------------------------------------------------------ list

  RM.route(
    "/rules",
    async (el, _params, query) => {
      const ks = await kinds();
      const newBtn = RM.guard(h("a", { class: "btn btn-primary", href: "#/rules/new" + (query.kind ? "?kind=" + encodeURIComponent(query.kind) : "") }, "+ New rule set"), "ops");
      if (newBtn.disabled) newBtn.removeAttribute("href");
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Rule sets"), h("a", { class: "btn", href: "#/audit" + (query.kind ? "?kind=" + encodeURIComponent(query.kind) : "") }, "Audit log"), newBtn),
        h(
          "p",
          { class: "muted" },
          "Every configurable behaviour — debit time points, overdue fees, allocation order, reminders, channel settings — scoped by business type / funder / product and effective from a date. Changes apply without a release.",
        ),
        h(
          "div",
          { class: "tabs" },
          h("a", { href: "#/rules", class: !query.kind ? "active" : "" }, "All"),
          ks.map((k) => h("a", { href: "#/rules?kind=" + encodeURIComponent(k.kind), class: query.kind === k.kind ? "active" : "" }, k.kind)),
        ),
      ]);
      const columns = [
        { label: "Name", get: (r) => h("div", null, RM.link(ruleHref(r.id), r.name), h("div", { class: "muted small mono" }, r.id)) },
        { label: "Kind", get: (r) => r.kind },
        { label: "Scope", get: (r) => scopeText(r.scope) },
        { label: "Effective from", get: (r) => r.effectiveFrom, cls: "nowrap" },
        { label: "Enabled", get: (r) => (r.deleted ? RM.badge("DELETED", "err") : RM.yesNo(r.enabled)) },
        { label: "Version", get: (r) => String(r.version), num: true },
        { label: "Updated by", get: (r) => r.updatedBy },
        { label: "Updated", get: (r) => RM.dt(r.updatedAt), cls: "small nowrap" },
      ];
      await RM.listPage(
        el,
        {
          api: "/rules",
          hashPath: "/rules",
          filters: [
            { name: "kind", label: "Kind", type: "select", options: ks.map((k) => k.kind), emptyLabel: "all kinds" },
            { name: "bizType", label: "Business type", type: "select", options: BIZ_TYPES, emptyLabel: "any" },
            { name: "funderId", label: "Funder" },
            { name: "productCode", label: "Product" },
            { name: "includeDeleted", label: "Deleted", type: "select", options: [{ value: "true", label: "include deleted" }], emptyLabel: "hide deleted" },
          ],
          columns,
          empty: "No rule sets",
        },
        query,
      );
    },
    "rules",
  );

  // ------------------------------------------------------------------ create

  RM.route(
    "/rules/new",
    async (el, _params, query) => {
      const ks = await kinds();
      const initialKind = ks.some((k) => k.kind === query.kind) ? query.kind : ks[0] && ks[0].kind;
      const defs = [
        { name: "kind", label: "Kind", type: "select", options: ks.map((k) => k.kind), required: true },
        { name: "name", label: "Name", required: true, placeholder: "e.g. Funder A debit times" },
        { name: "effectiveFrom", label: "Effective from", type: "date", hint: "Default: today (business date)" },
        { name: "enabled", label: "Enabled", type: "checkbox" },
        { name: "scope.bizType", label: "Scope: business type", type: "select", options: BIZ_TYPES, emptyLabel: "any" },
        { name: "scope.funderId", label: "Scope: funder", placeholder: "any" },
        { name: "scope.productCode", label: "Scope: product", placeholder: "any" },
      ];
      const editor = jsonEditor("content", {}, null);
      let template = null;
      async function loadTemplate(kind) {
        const k = ks.find((x) => x.kind === kind);
        editor.setSchema(k ? k.schema : null);
        // Start from the content of an existing rule set of this kind, when there is one.
        const untouched = template === null || editor.textarea.value.trim() === RM.pretty(template).trim() || editor.textarea.value.trim() === "{}";
        if (!untouched) return;
        try {
          const res = await RM.api("GET", "/rules", { query: { kind, pageSize: 1 } });
          template = res.rows[0] ? res.rows[0].content : {};
        } catch (err) {
          RM.showError(err);
          template = {};
        }
        editor.setValue(template);
      }
      const submit = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Create rule set"), "ops");
      const form = h(
        "form",
        {
          class: "card form",
          novalidate: true,
          onsubmit: async (e) => {
            e.preventDefault();
            const body = RM.readFields(form, defs);
            if (!body) return;
            const content = editor.read(form);
            if (!content) return;
            body.content = content;
            if (body.scope && !Object.keys(body.scope).length) delete body.scope;
            await RM.busy(submit, async () => {
              try {
                const rule = await RM.api("POST", "/rules", { body });
                RM.flash("Rule set \"" + rule.name + "\" created (v" + rule.version + ").");
                RM.go("/rules/" + encodeURIComponent(rule.id));
              } catch (err) {
                RM.formError(form, err);
              }
            });
          },
        },
        RM.fieldGrid(defs, { kind: initialKind, enabled: true, effectiveFrom: RM.schedule.today() }),
        editor.el,
        h("ul", { class: "form-errors" }),
        h("div", { class: "form-actions" }, submit, RM.link("#/rules", "Cancel", "btn")),
      );
      form.querySelector("select[name=kind]").addEventListener("change", (e) => loadTemplate(e.target.value));
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/rules", "Rules"), " / New rule set"), h("h1", null, "New rule set"), form]);
      await loadTemplate(initialKind);
    },
    "rules",
  );

  // ------------------------------------------------------------------ detail / edit / delete / history

  RM.route(
    "/rules/:id",
    async (el, params) => {
      RM.append(el, [h("div", { class: "crumbs" }, RM.link("#/rules", "Rules"), " / ", params.id), h("div", { class: "loading" }, "Loading…")]);
      const [ruleR, histR, kindsR] = await Promise.allSettled([
        RM.api("GET", "/rules/" + encodeURIComponent(params.id)),
        RM.api("GET", "/rules/" + encodeURIComponent(params.id) + "/history"),
        kinds(),
      ]);
      if (ruleR.status === "rejected" && histR.status === "rejected") throw ruleR.reason;
      RM.clear(el);
      el.appendChild(h("div", { class: "crumbs" }, RM.link("#/rules", "Rules"), " / ", params.id));
      const history = histR.status === "fulfilled" ? histR.value : null;
      if (histR.status === "rejected") RM.showError(histR.reason);

      if (ruleR.status === "rejected") {
        // Deleted rule sets keep their history; GET of the rule itself answers 404.
        const err = ruleR.reason;
        const last = history && history[0] && history[0].after;
        RM.append(el, [
          h("div", { class: "page-head" }, h("h1", null, last ? last.name : params.id), last && last.deleted ? RM.badge("DELETED", "err") : null),
          h("div", { class: "note note-warn" }, err.code + ": " + err.message + (last && last.deleted ? " — the rule set was deleted; its history follows." : "")),
        ]);
      } else {
        const r = ruleR.value;
        const k = kindsR.status === "fulfilled" ? kindsR.value.find((x) => x.kind === r.kind) : null;
        renderEditor(el, r, k ? k.schema : null);
      }
      if (history) el.appendChild(h("section", { class: "card" }, h("h2", null, "History (" + history.length + " versions)"), historyView(history)));
    },
    "rules",
  );

  function renderEditor(el, r, schema) {
    RM.append(el, [
      h("div", { class: "page-head" }, h("h1", null, r.name), RM.badge(r.kind, "muted"), r.enabled ? RM.badge("ENABLED", "ok") : RM.badge("DISABLED", "muted")),
      h(
        "section",
        { class: "card" },
        RM.kv([
          ["Id", h("span", { class: "mono" }, r.id)],
          ["Kind", r.kind],
          ["Scope", scopeText(r.scope)],
          ["Effective from", r.effectiveFrom],
          ["Version", String(r.version)],
          ["Created", r.createdBy + " · " + RM.dt(r.createdAt)],
          ["Updated", r.updatedBy + " · " + RM.dt(r.updatedAt)],
        ]),
      ),
    ]);

    const defs = [
      { name: "name", label: "Name", required: true },
      { name: "effectiveFrom", label: "Effective from", type: "date", required: true },
      { name: "enabled", label: "Enabled", type: "checkbox" },
    ];
    const editor = jsonEditor("content", r.content, schema);
    const save = RM.guard(h("button", { type: "submit", class: "btn btn-primary" }, "Save as v" + (r.version + 1)), "ops");
    const del = RM.guard(h("button", { type: "button", class: "btn btn-danger" }, "Delete"), "admin");
    const conflict = h("div");
    const form = h(
      "form",
      {
        class: "card form",
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          RM.clear(conflict);
          const fields = RM.readFields(form, defs);
          if (!fields) return;
          const content = editor.read(form);
          if (!content) return;
          const body = { expectedVersion: r.version };
          if (fields.name !== r.name) body.name = fields.name;
          if (fields.effectiveFrom !== r.effectiveFrom) body.effectiveFrom = fields.effectiveFrom;
          if (fields.enabled !== r.enabled) body.enabled = fields.enabled;
          if (JSON.stringify(content) !== JSON.stringify(r.content)) body.content = content;
          if (Object.keys(body).length === 1) {
            RM.showInfo("Nothing changed — nothing to save.");
            return;
          }
          await RM.busy(save, async () => {
            try {
              const saved = await RM.api("PUT", "/rules/" + encodeURIComponent(r.id), { body });
              RM.flash("Saved \"" + saved.name + "\" as version " + saved.version + ".");
              RM.render();
            } catch (err) {
              RM.formError(form, err);
              if (err.code === "VERSION_CONFLICT") {
                RM.append(conflict, h(
                  "div",
                  { class: "note note-warn" },
                  "Someone changed this rule set after you opened it (you edited v" + r.version + "). Reload to see the latest version, then apply your change again. ",
                  h("button", { type: "button", class: "btn btn-small", onclick: () => RM.render() }, "Reload latest"),
                ));
              }
            }
          });
        },
      },
      h("h2", null, "Edit"),
      RM.fieldGrid(defs, r),
      editor.el,
      h("ul", { class: "form-errors" }),
      conflict,
      h("div", { class: "form-actions" }, save, h("span", { class: "muted small" }, "expectedVersion " + r.version), h("span", { class: "spacer" }), del),
    );
    del.addEventListener("click", async () => {
      if (!window.confirm("Delete rule set \"" + r.name + "\" (v" + r.version + ")? It is kept in the audit log.")) return;
      await RM.busy(del, async () => {
        try {
          await RM.api("DELETE", "/rules/" + encodeURIComponent(r.id), { query: { expectedVersion: r.version } });
          RM.flash("Rule set \"" + r.name + "\" deleted.");
          RM.go("/rules", { kind: r.kind });
        } catch (err) {
          RM.formError(form, err);
        }
      });
    });
    el.appendChild(form);
  }

  // ------------------------------------------------------------------ audit log

  RM.route(
    "/audit",
    async (el, _params, query) => {
      const ks = await kinds();
      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Audit log"), RM.link("#/rules", "Rule sets", "btn")),
        h("p", { class: "muted" }, "Who changed which rule set, newest first."),
      ]);
      const columns = [
        { label: "When", get: (a) => RM.dt(a.at), cls: "nowrap" },
        { label: "Who", get: (a) => h("strong", null, a.by) },
        { label: "Action", get: (a) => RM.badge(a.action) },
        { label: "Kind", get: (a) => a.kind, cls: "small" },
        { label: "Rule set", get: (a) => h("div", null, RM.link(ruleHref(a.ruleId), a.name), h("div", { class: "muted small mono" }, a.ruleId)) },
        { label: "Version", get: (a) => String(a.version), num: true },
        {
          label: "Changes",
          get: (a) => {
            const changes = RM.diff(a.before, a.after);
            if (a.action === "CREATE" || a.action === "SEED") return h("span", { class: "muted small" }, "created with " + changes.length + " fields");
            return h(
              "ul",
              { class: "change-list" },
              changes.slice(0, 4).map((c) => h("li", null, h("code", null, c.path), ": ", h("code", { class: "diff-del" }, compact(c.before)), " → ", h("code", { class: "diff-add" }, compact(c.after)))),
              changes.length > 4 ? h("li", { class: "muted" }, "+ " + (changes.length - 4) + " more") : null,
            );
          },
        },
      ];
      await RM.listPage(
        el,
        {
          api: "/rules-audit",
          hashPath: "/audit",
          filters: [{ name: "kind", label: "Kind", type: "select", options: ks.map((k) => k.kind), emptyLabel: "all kinds" }],
          columns,
          empty: "No changes recorded",
        },
        query,
      );
    },
    "audit",
  );
})();
