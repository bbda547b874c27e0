/*
 * RepayMesh ops console — core: the API client, DOM helpers, decimal-string money helpers, the
 * error banner, forms with per-field errors, tables, pagers and the hash router.
 *
 * Plain browser script (no build step). Everything hangs off `window.RM`; page scripts register
 * their routes with RM.route(...) and app.js starts the router after login.
 */
(function () {
  "use strict";

  const RM = (window.RM = window.RM || {});
  const KEY_STORAGE = "repaymesh.apiKey";

  // ---------------------------------------------------------------- DOM helpers

  /** h("div", { class: "x", onclick: fn }, child, "text", [more]) — text is always set as text. */
  function h(tag, attrs) {
    const el = document.createElement(tag);
    let selectValue;
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = String(v);
        else if (k === "dataset") Object.assign(el.dataset, v);
        // Through the CSSOM: the Content-Security-Policy (style-src 'self') refuses style attributes.
        else if (k === "style") el.style.cssText = String(v);
        else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
        else if (k === "value") {
          if (tag === "select") selectValue = v;
          else el.value = v;
        } else if (k === "checked") el.checked = !!v;
        else if (v === true) el.setAttribute(k, "");
        else el.setAttribute(k, String(v));
      }
    }
    append(el, Array.prototype.slice.call(arguments, 2));
    if (selectValue !== undefined) el.value = selectValue;
    return el;
  }

  function append(el, children) {
    const list = Array.isArray(children) ? children.flat(Infinity) : [children];
    for (const c of list) {
      if (c === undefined || c === null || c === false) continue;
      el.appendChild(c instanceof window.Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
    return el;
  }

  function link(href, text, cls) {
    return h("a", { href, class: cls }, text);
  }

  // ---------------------------------------------------------------- formatting

  const DEC_RE = /^(-)?(\d+)(?:\.(\d+))?$/;

  /** A decimal string as given, with thousand separators added by string manipulation only. */
  function money(s) {
    if (s === undefined || s === null || s === "") return "—";
    const str = String(s);
    const m = DEC_RE.exec(str);
    if (!m) return str;
    return (m[1] || "") + m[2].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (m[3] !== undefined ? "." + m[3] : "");
  }

  function scaleOf(s) {
    const m = DEC_RE.exec(String(s));
    return m && m[3] ? m[3].length : 0;
  }

  function toScaled(s, scale) {
    const m = DEC_RE.exec(String(s).trim());
    if (!m) throw new Error("not a decimal: " + s);
    const v = BigInt(m[2] + (m[3] || "").padEnd(scale, "0"));
    return m[1] ? -v : v;
  }

  function fromScaled(v, scale) {
    const neg = v < 0n;
    let s = (neg ? -v : v).toString();
    if (scale > 0) {
      s = s.padStart(scale + 1, "0");
      s = s.slice(0, -scale) + "." + s.slice(-scale);
    }
    return (neg ? "-" : "") + s;
  }

  /** Exact sum of decimal strings (BigInt on scaled integers; never floating point). */
  function decSum(values) {
    const list = values.filter((x) => x !== undefined && x !== null && x !== "" && DEC_RE.test(String(x).trim()));
    let scale = 2;
    for (const x of list) scale = Math.max(scale, scaleOf(String(x).trim()));
    let total = 0n;
    for (const x of list) total += toScaled(x, scale);
    return fromScaled(total, scale);
  }

  /** Compare two decimal strings exactly: -1, 0 or 1 (null when either is not a decimal). */
  function decCmp(a, b) {
    const x = String(a === undefined || a === null ? "" : a).trim();
    const y = String(b === undefined || b === null ? "" : b).trim();
    if (!DEC_RE.test(x) || !DEC_RE.test(y)) return null;
    const scale = Math.max(scaleOf(x), scaleOf(y));
    const d = toScaled(x, scale) - toScaled(y, scale);
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }

  /** Only for chart heights: a decimal string as a JS number. */
  function chartNumber(s) {
    const n = Number.parseFloat(String(s));
    return Number.isFinite(n) ? n : 0;
  }

  function dateTimeFormat() {
    try {
      return new Intl.DateTimeFormat("sv-SE", {
        timeZone: RM.timeZone || undefined,
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
        hour12: false,
      });
    } catch {
      return null;
    }
  }

  /** An ISO instant in the business time zone: "2026-11-28 16:05:42". */
  function dt(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const f = dateTimeFormat();
    return f ? f.format(d) : String(iso);
  }

  /** The calendar day of an ISO instant in the business time zone: "2026-11-28". */
  function day(iso) {
    const s = dt(iso);
    return s.length >= 10 ? s.slice(0, 10) : s;
  }

  function badge(text, kind) {
    return h("span", { class: "badge badge-" + (kind || String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-")) }, text);
  }

  function yesNo(v) {
    return v ? badge("yes", "ok") : badge("no", "muted");
  }

  // ---------------------------------------------------------------- banner (errors never swallowed)

  function bannerEl() {
    return document.getElementById("banner");
  }

  function describeDetails(details) {
    if (details === undefined || details === null) return [];
    if (Array.isArray(details)) {
      return details.map((d) => (d && typeof d === "object" ? (d.field ? d.field + ": " : "") + (d.message || JSON.stringify(d)) : String(d)));
    }
    if (typeof details === "object") {
      return Object.keys(details).map((k) => k + ": " + (typeof details[k] === "object" ? JSON.stringify(details[k]) : String(details[k])));
    }
    return [String(details)];
  }

  function addBanner(kind, title, message, lines) {
    const box = bannerEl();
    if (!box) {
      alert(title + " " + message);
      return;
    }
    const item = h(
      "div",
      { class: "banner-item banner-" + kind, role: kind === "error" ? "alert" : "status" },
      h("button", { class: "banner-close", type: "button", title: "Dismiss", "aria-label": "Dismiss", onclick: () => item.remove() }, "×"),
      h("strong", { class: "banner-code" }, title),
      message ? h("span", { class: "banner-msg" }, message) : null,
      lines && lines.length ? h("ul", { class: "banner-details" }, lines.map((l) => h("li", null, l))) : null,
    );
    box.appendChild(item);
    if (kind !== "error") setTimeout(() => item.remove(), 6000);
  }

  /** Show an error (ApiError or anything thrown) in the banner: code + message + details. */
  function showError(err) {
    if (!err) return;
    if (err.name === "ApiError") {
      addBanner("error", err.code + (err.status ? " (" + err.status + ")" : ""), err.message, describeDetails(err.details));
    } else {
      console.error(err);
      addBanner("error", "CONSOLE_ERROR", err.message || String(err), []);
    }
  }

  function showInfo(message) {
    addBanner("info", "OK", message, []);
  }

  function clearBanner() {
    const box = bannerEl();
    if (box) clear(box);
  }

  let flashes = [];
  /** An info message shown after the next navigation. */
  function flash(message) {
    flashes.push(message);
  }

  // ---------------------------------------------------------------- API client

  class ApiError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.name = "ApiError";
      this.status = status;
      this.code = code;
      this.details = details;
    }
  }

  // The key lives in sessionStorage: this tab only, gone when it closes (a reload keeps it). Not
  // localStorage, which keeps it on disk for every tab of the origin until someone logs out.
  function getKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || "";
    } catch {
      return "";
    }
  }

  function setKey(key) {
    try {
      localStorage.removeItem(KEY_STORAGE); // a key an older console left there
    } catch {
      /* storage disabled */
    }
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  }

  function queryString(query) {
    const qs = new URLSearchParams();
    if (query) {
      for (const k of Object.keys(query)) {
        const v = query[k];
        if (v === undefined || v === null || v === "") continue;
        qs.set(k, String(v));
      }
    }
    const s = qs.toString();
    return s ? "?" + s : "";
  }

  /**
   * Call /api/v1{path}. Resolves with the parsed JSON; rejects with an ApiError carrying the
   * server's { code, message, details }. A 401 sends the console back to the login box.
   */
  async function api(method, path, opts) {
    const o = opts || {};
    const url = "/api/v1" + path + queryString(o.query);
    const headers = { Accept: "application/json" };
    const key = o.key !== undefined ? o.key : getKey();
    if (key) headers["X-Api-Key"] = key;
    let body;
    if (o.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(o.body);
    }
    let res;
    try {
      res = await fetch(url, { method, headers, body, cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, "NETWORK_ERROR", "Could not reach the gateway (" + (e && e.message ? e.message : e) + ")");
    }
    const text = await res.text();
    let data = null;
    let parsed = true;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        parsed = false;
      }
    }
    if (!res.ok) {
      const err =
        parsed && data && typeof data === "object" && data.code
          ? new ApiError(res.status, String(data.code), String(data.message || ""), data.details)
          : new ApiError(res.status, "HTTP_" + res.status, (text || res.statusText || "").slice(0, 300));
      if (res.status === 401 && !o.noLoginRedirect && typeof RM.onUnauthorized === "function") RM.onUnauthorized(err);
      throw err;
    }
    if (!parsed) throw new ApiError(res.status, "BAD_RESPONSE", "The gateway answered with something that is not JSON");
    return data;
  }

  /** Fetch up to maxPages pages of a list endpoint. */
  async function fetchAll(path, query, maxPages, pageSize) {
    const size = pageSize || 500;
    const limit = maxPages || 4;
    const rows = [];
    let total = 0;
    for (let page = 1; page <= limit; page++) {
      const res = await api("GET", path, { query: Object.assign({}, query || {}, { page, pageSize: size }) });
      total = res.total;
      for (const r of res.rows) rows.push(r);
      if (page >= (res.totalPages || 0) || res.rows.length === 0) break;
    }
    return { rows, total, truncated: rows.length < total };
  }

  /**
   * A fresh operation number (the idempotency key of a manual operation): PREFIX-<time>-<random>,
   * 4-48 of [A-Za-z0-9_-]. Make it once when a form opens, not per click, so a double submit replays.
   */
  function opNo(prefix) {
    const rnd = Math.random().toString(36).slice(2, 8).toUpperCase().padEnd(6, "0");
    return (prefix || "OP") + "-" + Date.now().toString(36).toUpperCase() + "-" + rnd;
  }

  // ---------------------------------------------------------------- roles

  const RANK = { viewer: 0, ops: 1, admin: 2 };

  /** True when the signed-in key may do something that needs `need`; unknown role → let the server decide. */
  function can(need) {
    if (!RM.role) return true;
    return RANK[RM.role] >= RANK[need];
  }

  /** Disable a control the signed-in role may not use, and say why. */
  function guard(el, need) {
    if (!can(need)) {
      el.disabled = true;
      el.title = "Needs the " + need + " role (you are " + RM.role + ")";
      el.classList.add("forbidden");
    }
    return el;
  }

  // ---------------------------------------------------------------- forms

  /**
   * Field definitions: { name, label, type: text|int|money|rate|date|datetime|select|checkbox|textarea,
   * options: [v | {value,label}], required, hint, placeholder, wide }. Dotted names nest ("customer.id").
   */
  function field(def, value) {
    let input;
    const id = "f-" + def.name.replace(/[^A-Za-z0-9]/g, "-") + "-" + Math.random().toString(36).slice(2, 7);
    const common = { id, name: def.name, placeholder: def.placeholder, required: def.required || undefined };
    if (def.type === "select") {
      const opts = (def.options || []).map((o) => (typeof o === "object" ? o : { value: o, label: o }));
      input = h("select", common, def.required ? null : h("option", { value: "" }, def.emptyLabel || "—"), opts.map((o) => h("option", { value: o.value }, o.label)));
      input.value = value === undefined || value === null ? "" : String(value);
    } else if (def.type === "checkbox") {
      input = h("input", Object.assign({ type: "checkbox" }, common, { checked: !!value }));
    } else if (def.type === "textarea") {
      input = h("textarea", Object.assign({ rows: def.rows || 12, spellcheck: "false" }, common));
      input.value = value === undefined || value === null ? "" : String(value);
    } else {
      const type = def.type === "date" ? "date" : def.type === "datetime" ? "datetime-local" : def.type === "int" ? "number" : "text";
      const extra = {};
      if (def.type === "int") {
        extra.step = "1";
        if (def.min !== undefined) extra.min = String(def.min);
      }
      if (def.type === "money" || def.type === "rate") extra.inputmode = "decimal";
      input = h("input", Object.assign({ type, autocomplete: "off" }, common, extra));
      input.value = value === undefined || value === null ? "" : String(value);
    }
    const label = h("label", { for: id }, def.label, def.required ? h("span", { class: "req", title: "required" }, " *") : null);
    return h(
      "div",
      { class: "field" + (def.wide ? " field-wide" : "") + (def.type === "checkbox" ? " field-check" : ""), dataset: { name: def.name } },
      label,
      input,
      def.hint ? h("div", { class: "hint" }, def.hint) : null,
      h("div", { class: "field-error", dataset: { field: def.name } }),
    );
  }

  function fieldGrid(defs, values) {
    const v = values || {};
    return h("div", { class: "field-grid" }, defs.map((d) => field(d, getPath(v, d.name))));
  }

  function getPath(obj, path) {
    return path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
  }

  function setPath(obj, path, value) {
    const parts = path.split(".");
    let o = obj;
    for (let i = 0; i < parts.length - 1; i++) {
      if (!o[parts[i]] || typeof o[parts[i]] !== "object") o[parts[i]] = {};
      o = o[parts[i]];
    }
    o[parts[parts.length - 1]] = value;
  }

  function inputFor(container, name) {
    for (const el of container.querySelectorAll("[name]")) if (el.getAttribute("name") === name) return el;
    return null;
  }

  /**
   * Read the fields into an object (empty optional fields left out; int fields as numbers; money and
   * rates stay strings). Required/int problems are shown next to the fields; returns null then.
   */
  function readFields(container, defs) {
    clearFieldErrors(container);
    const out = {};
    const problems = [];
    for (const d of defs) {
      const input = inputFor(container, d.name);
      if (!input) continue;
      if (d.type === "checkbox") {
        setPath(out, d.name, input.checked);
        continue;
      }
      const raw = String(input.value).trim();
      if (raw === "") {
        if (d.required) problems.push({ field: d.name, message: d.label + " is required" });
        continue;
      }
      if (d.type === "int") {
        if (!/^-?\d+$/.test(raw)) {
          problems.push({ field: d.name, message: d.label + " must be a whole number" });
          continue;
        }
        setPath(out, d.name, Number.parseInt(raw, 10));
      } else if (d.type === "money" && !/^\d+(\.\d{1,2})?$/.test(raw)) {
        problems.push({ field: d.name, message: d.label + " must be an amount like 1234.56 (at most 2 decimals)" });
      } else {
        setPath(out, d.name, raw);
      }
    }
    if (problems.length) {
      showFieldErrors(container, problems);
      return null;
    }
    return out;
  }

  function clearFieldErrors(container) {
    for (const el of container.querySelectorAll(".field-error")) el.textContent = "";
    for (const el of container.querySelectorAll(".invalid")) el.classList.remove("invalid");
    const general = container.querySelector(".form-errors");
    if (general) clear(general);
  }

  /**
   * Put an error's details next to the fields they name: an array of { field, message } (422), or an
   * object with `field` (domain errors; the message is the error's). Returns the lines no field took.
   */
  function showFieldErrors(container, details, fallbackMessage) {
    const items = [];
    if (Array.isArray(details)) {
      for (const d of details) if (d && typeof d === "object") items.push({ field: d.field, message: d.message || d.type || "invalid" });
    } else if (details && typeof details === "object" && typeof details.field === "string") {
      items.push({ field: details.field, message: fallbackMessage || "invalid" });
    }
    const slots = Array.prototype.slice.call(container.querySelectorAll(".field-error"));
    const leftover = [];
    for (const it of items) {
      const slot = it.field ? slots.find((s) => s.dataset.field === it.field) : null;
      if (slot) {
        slot.textContent = slot.textContent ? slot.textContent + "; " + it.message : it.message;
        const input = inputFor(container, it.field);
        if (input) input.classList.add("invalid");
      } else {
        leftover.push((it.field ? it.field + ": " : "") + it.message);
      }
    }
    const general = container.querySelector(".form-errors");
    if (general && leftover.length) append(general, leftover.map((l) => h("li", null, l)));
    const first = container.querySelector(".invalid");
    if (first && typeof first.focus === "function") first.focus();
    return leftover;
  }

  /** Handle a failed form submission: banner (code + message) and errors next to fields. */
  function formError(container, err) {
    showError(err);
    if (err && err.name === "ApiError") showFieldErrors(container, err.details, err.message);
  }

  /** Disable a button while a promise runs. */
  async function busy(button, fn) {
    const label = button.textContent;
    button.disabled = true;
    button.classList.add("busy");
    try {
      return await fn();
    } finally {
      button.disabled = false;
      button.classList.remove("busy");
      button.textContent = label;
    }
  }

  // ---------------------------------------------------------------- tables, pagers, key-value lists

  /** columns: [{ label, get(row) → string|Node, num?: true, cls? }] */
  function table(columns, rows, opts) {
    const o = opts || {};
    const thead = h("thead", null, h("tr", null, columns.map((c) => h("th", { class: c.num ? "num" : c.cls }, c.label))));
    const body = rows.length
      ? rows.map((r) => h("tr", { class: o.rowClass ? o.rowClass(r) : undefined }, columns.map((c) => h("td", { class: c.num ? "num" : c.cls }, c.get(r)))))
      : [h("tr", null, h("td", { class: "empty", colspan: String(columns.length) }, o.empty || "Nothing to show"))];
    const foot = o.footer ? h("tfoot", null, h("tr", null, o.footer.map((cell, i) => h("td", { class: columns[i] && columns[i].num ? "num" : undefined }, cell)))) : null;
    return h("div", { class: "table-wrap" }, h("table", { class: "data" }, thead, h("tbody", null, body), foot));
  }

  function kv(pairs) {
    return h(
      "dl",
      { class: "kv" },
      pairs.filter(Boolean).map((p) => [h("dt", null, p[0]), h("dd", null, p[1] === undefined || p[1] === null || p[1] === "" ? "—" : p[1])]),
    );
  }

  function pager(res, onGo) {
    const page = res.page || 1;
    const pages = Math.max(res.totalPages || 0, 1);
    const sizeSel = h(
      "select",
      { class: "page-size", title: "Rows per page", onchange: () => onGo(1, Number(sizeSel.value)) },
      [10, 20, 50, 100, 200, 500].map((n) => h("option", { value: String(n) }, n + " / page")),
    );
    sizeSel.value = String(res.pageSize || 20);
    return h(
      "div",
      { class: "pager" },
      h("button", { type: "button", class: "btn", disabled: page <= 1 || undefined, onclick: () => onGo(1) }, "« First"),
      h("button", { type: "button", class: "btn", disabled: page <= 1 || undefined, onclick: () => onGo(page - 1) }, "‹ Prev"),
      h("span", { class: "pager-info" }, "Page " + page + " of " + pages + " · " + (res.total || 0) + " rows"),
      h("button", { type: "button", class: "btn", disabled: page >= pages || undefined, onclick: () => onGo(page + 1) }, "Next ›"),
      h("button", { type: "button", class: "btn", disabled: page >= pages || undefined, onclick: () => onGo(pages) }, "Last »"),
      sizeSel,
    );
  }

  /**
   * A filterable, paged list bound to the hash query: filters and page live in the URL, so a list
   * can be bookmarked and the back button works.
   */
  async function listPage(el, cfg, query) {
    const filterNames = cfg.filters.map((f) => f.name);
    const current = {};
    for (const n of filterNames) if (query[n] !== undefined) current[n] = query[n];
    const page = Number.parseInt(query.page, 10) || 1;
    const pageSize = Number.parseInt(query.pageSize, 10) || cfg.pageSize || 20;

    const filterForm = h(
      "form",
      {
        class: "filters",
        onsubmit: (e) => {
          e.preventDefault();
          const q = {};
          for (const n of filterNames) {
            const input = inputFor(filterForm, n);
            const v = input ? String(input.value).trim() : "";
            if (v) q[n] = v;
          }
          q.pageSize = pageSize;
          go(cfg.hashPath, q);
        },
      },
      fieldGrid(cfg.filters, current),
      h(
        "div",
        { class: "filter-actions" },
        h("button", { type: "submit", class: "btn btn-primary" }, "Filter"),
        h("button", { type: "button", class: "btn", onclick: () => go(cfg.hashPath, {}) }, "Reset"),
      ),
    );
    const result = h("div", { class: "list-result" }, h("div", { class: "loading" }, "Loading…"));
    append(el, [filterForm, result]);

    const res = await api("GET", cfg.api, { query: Object.assign({}, cfg.fixedQuery || {}, current, { page, pageSize }) });
    const goPage = (p, size) => go(cfg.hashPath, Object.assign({}, current, { page: p, pageSize: size || pageSize }));
    clear(result);
    const tableOpts = { empty: cfg.empty, rowClass: cfg.rowClass, footer: cfg.footer && res.rows.length ? cfg.footer(res.rows) : undefined };
    append(result, [pager(res, goPage), table(cfg.columns, res.rows, tableOpts), res.totalPages > 1 ? pager(res, goPage) : null]);
    return res;
  }

  // ---------------------------------------------------------------- JSON helpers (rules)

  function pretty(v) {
    return JSON.stringify(v, null, 2);
  }

  /** Leaf paths of a JSON value: { "content.times.0": "12:00", ... }. */
  function flatten(value, prefix, out) {
    const o = out || {};
    if (value !== null && typeof value === "object" && Object.keys(value).length > 0) {
      for (const k of Object.keys(value)) flatten(value[k], prefix ? prefix + "." + k : k, o);
    } else {
      o[prefix || "(value)"] = value;
    }
    return o;
  }

  /** What changed between two snapshots: [{ path, before, after }]. */
  function diff(before, after) {
    const a = before ? flatten(before, "") : {};
    const b = after ? flatten(after, "") : {};
    const keys = Array.from(new Set(Object.keys(a).concat(Object.keys(b)))).sort();
    const out = [];
    for (const k of keys) {
      const x = JSON.stringify(a[k]);
      const y = JSON.stringify(b[k]);
      if (x !== y) out.push({ path: k, before: a[k], after: b[k] });
    }
    return out;
  }

  // ---------------------------------------------------------------- router

  const routes = [];
  const charts = [];
  const leaveHooks = [];

  /** RM.route("/plans/:planId", render(el, params, query), "plans") */
  function route(pattern, render, nav) {
    const names = [];
    const re = new RegExp(
      "^" +
        pattern.replace(/\/:([A-Za-z]+)/g, (_m, n) => {
          names.push(n);
          return "/([^/]+)";
        }) +
        "/?$",
    );
    routes.push({ re, names, render, nav: nav || pattern.split("/")[1] });
  }

  function parseHash() {
    let raw = location.hash.replace(/^#/, "");
    if (!raw || raw === "/") raw = "/dashboard";
    const qi = raw.indexOf("?");
    const path = qi >= 0 ? raw.slice(0, qi) : raw;
    const query = {};
    new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : "").forEach((v, k) => {
      query[k] = v;
    });
    return { path, query };
  }

  function go(path, query) {
    const target = "#" + path + queryString(query);
    if (location.hash === target) render();
    else location.hash = target;
  }

  function trackChart(c) {
    charts.push(c);
    return c;
  }

  /** Run fn when the current page is left (next render): stop timers, pollers. */
  function onLeave(fn) {
    leaveHooks.push(fn);
  }

  let renderSeq = 0;
  async function render() {
    const main = document.getElementById("page");
    if (!main) return;
    const seq = ++renderSeq;
    while (charts.length) {
      try {
        charts.pop().destroy();
      } catch {
        /* a chart of a page already gone */
      }
    }
    while (leaveHooks.length) {
      try {
        leaveHooks.pop()();
      } catch (err) {
        console.error(err);
      }
    }
    clearBanner();
    const pending = flashes;
    flashes = [];
    for (const m of pending) showInfo(m);

    const { path, query } = parseHash();
    let found = null;
    let params = {};
    for (const r of routes) {
      const m = r.re.exec(path);
      if (m) {
        found = r;
        params = {};
        r.names.forEach((n, i) => {
          params[n] = decodeURIComponent(m[i + 1]);
        });
        break;
      }
    }
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", !!found && a.dataset.nav === found.nav);
    const el = h("div", { class: "page" });
    clear(main);
    main.appendChild(el);
    window.scrollTo(0, 0);
    if (!found) {
      append(el, [h("h1", null, "Not found"), h("p", null, "No page at ", h("code", null, path), ". "), link("#/dashboard", "Go to the dashboard")]);
      return;
    }
    try {
      await found.render(el, params, query);
    } catch (err) {
      // A 401 already sent us to the login box; anything else is shown, never swallowed.
      if (seq === renderSeq && !(err && err.status === 401)) {
        showError(err);
        const loading = el.querySelectorAll(".loading");
        for (const l of loading) l.textContent = "Could not load: " + (err && err.code ? err.code : "error");
      }
    }
  }

  Object.assign(RM, {
    h,
    append,
    clear,
    link,
    money,
    decSum,
    decCmp,
    chartNumber,
    dt,
    day,
    badge,
    yesNo,
    showError,
    showInfo,
    clearBanner,
    flash,
    ApiError,
    api,
    fetchAll,
    getKey,
    setKey,
    queryString,
    opNo,
    can,
    guard,
    field,
    fieldGrid,
    readFields,
    clearFieldErrors,
    showFieldErrors,
    formError,
    busy,
    table,
    kv,
    pager,
    listPage,
    pretty,
    flatten,
    diff,
    route,
    go,
    render,
    parseHash,
    trackChart,
    onLeave,
    getPath,
  });
})();
