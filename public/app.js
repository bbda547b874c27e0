/*
 * RepayMesh ops console — shell: login box (API key kept in sessionStorage: this tab, until it closes), header with the signed-in
 * role, the business clock and the node, the left nav, and the start of the hash router.
 * Pages live in js/*.js and register themselves with RM.route before this script runs.
 */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;

  const NAV = [
    { nav: "dashboard", href: "#/dashboard", label: "Dashboard" },
    { nav: "orders", href: "#/orders", label: "Orders" },
    { nav: "plans", href: "#/plans", label: "Plans" },
    { nav: "calculator", href: "#/calculator", label: "Schedule calculator" },
    { nav: "bindings", href: "#/bindings", label: "Card bindings" },
    { section: "Collection & payouts" },
    { nav: "collection", href: "#/collection", label: "Collection (overdue)" },
    { nav: "messages", href: "#/messages", label: "Messages (SMS)" },
    { nav: "runs", href: "#/runs", label: "Runs" },
    { nav: "trades", href: "#/trades", label: "Trades" },
    { nav: "flows", href: "#/flows", label: "Money flows" },
    { nav: "payouts", href: "#/payouts", label: "Payouts & positions" },
    { nav: "channels", href: "#/channels", label: "Channels" },
    { nav: "transfers", href: "#/transfers", label: "Transfers & remittances" },
    { nav: "reconciliation", href: "#/reconciliation", label: "Reconciliation" },
    { section: "Configuration" },
    { nav: "rules", href: "#/rules", label: "Rules" },
    { nav: "webhooks", href: "#/webhooks", label: "Webhooks" },
    { nav: "audit", href: "#/audit", label: "Audit log" },
    { section: "Operations" },
    { nav: "clock", href: "#/clock", label: "Test clock" },
  ];

  let started = false;
  let clockTimer = null;

  // ---------------------------------------------------------------- role

  /**
   * The role of the signed-in key. The gateway has no "who am I" endpoint yet, so:
   * 1. GET /api/v1/me, if a later release adds it ({ role });
   * 2. otherwise two harmless probes whose only possible effects are refusals:
   *    POST /rules with an empty body (403 for viewers, 422 validation error for ops and admins —
   *    nothing is written) and DELETE of a rule id that cannot exist (403 unless admin, then 404).
   */
  async function detectRole() {
    try {
      const me = await RM.api("GET", "/me", { noLoginRedirect: true });
      if (me && (me.role === "viewer" || me.role === "ops" || me.role === "admin")) return { role: me.role, name: me.name };
    } catch (e) {
      if (e.status === 401) throw e;
    }
    try {
      await RM.api("POST", "/rules", { body: {}, noLoginRedirect: true });
    } catch (e) {
      if (e.status === 401) throw e;
      if (e.status === 403) return { role: "viewer" };
      if (e.status !== 422 && e.status !== 400) return { role: null };
    }
    try {
      await RM.api("DELETE", "/rules/RS-console-role-probe-0", { noLoginRedirect: true });
      return { role: "admin" };
    } catch (e) {
      if (e.status === 401) throw e;
      if (e.status === 403) return { role: "ops" };
      if (e.status === 404) return { role: "admin" };
      return { role: null };
    }
  }

  // ---------------------------------------------------------------- login

  function showLogin(message) {
    started = false;
    if (clockTimer) clockTimer.stop = true;
    document.body.classList.remove("signed-in");
    const root = RM.clear(document.getElementById("root"));
    const keyInput = h("input", { type: "password", id: "api-key", name: "apiKey", autocomplete: "off", placeholder: "rm_…", required: true });
    const err = h("div", { class: "login-error", role: "alert" }, message || "");
    const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Sign in");
    const form = h(
      "form",
      {
        class: "login-box",
        onsubmit: async (e) => {
          e.preventDefault();
          const key = keyInput.value.trim();
          if (!key) return;
          err.textContent = "";
          submit.disabled = true;
          try {
            // A first authenticated call proves the key.
            const clock = await RM.api("GET", "/test-clock", { key, noLoginRedirect: true });
            RM.setKey(key);
            RM.clock = clock;
            await start();
          } catch (ex) {
            err.textContent = (ex.code || "ERROR") + ": " + (ex.message || String(ex));
          } finally {
            submit.disabled = false;
          }
        },
      },
      h("div", { class: "login-brand" }, h("span", { class: "logo" }, "RM"), " RepayMesh"),
      h("h1", null, "Ops console"),
      h("p", { class: "muted" }, "Sign in with your API key. It stays in this tab only (sessionStorage) until you log out or close it."),
      h("label", { for: "api-key" }, "API key"),
      keyInput,
      err,
      submit,
      h("p", { class: "hint" }, "A fresh node prints a one-time admin key on its first start; more keys come from REPAYMESH_API_KEYS."),
    );
    root.appendChild(h("div", { class: "login-wrap" }, form));
    keyInput.focus();
  }

  function logout() {
    RM.setKey("");
    RM.role = null;
    showLogin("Signed out.");
    if (location.hash && location.hash !== "#/dashboard") location.hash = "#/dashboard";
  }

  RM.onUnauthorized = function (err) {
    RM.setKey("");
    RM.role = null;
    showLogin("Your API key was refused — " + err.code + ": " + err.message);
  };

  // ---------------------------------------------------------------- header clock

  function renderClock() {
    const slot = document.getElementById("hdr-clock");
    if (!slot) return;
    RM.clear(slot);
    const c = RM.clock;
    if (!c) return;
    RM.append(slot, [
      h("span", { class: "hdr-label" }, "Business date"),
      h("strong", null, c.businessDate),
      h("span", null, c.localTime),
      h("span", { class: "muted" }, c.timeZone),
      c.frozen ? RM.badge("FROZEN", "warn") : null,
      c.testClock && c.version > 0 ? RM.badge("TEST CLOCK", "warn") : null,
    ]);
  }
  RM.setClock = function (c) {
    RM.clock = c;
    if (c && c.timeZone) RM.timeZone = c.timeZone;
    renderClock();
  };

  function scheduleClockRefresh() {
    if (clockTimer) clockTimer.stop = true;
    const timer = { stop: false };
    clockTimer = timer;
    const tick = async () => {
      if (timer.stop || !started) return;
      try {
        RM.setClock(await RM.api("GET", "/test-clock"));
      } catch (e) {
        const slot = document.getElementById("hdr-clock");
        if (slot && e.status !== 401) {
          RM.clear(slot);
          slot.appendChild(RM.badge("clock unavailable: " + e.code, "err"));
        }
      }
      if (!timer.stop) setTimeout(tick, 30000);
    };
    setTimeout(tick, 30000);
  }

  // ---------------------------------------------------------------- shell

  function shell() {
    const root = RM.clear(document.getElementById("root"));
    document.body.classList.add("signed-in");
    const nav = h(
      "nav",
      { id: "nav", "aria-label": "Main" },
      NAV.map((n) => (n.section ? h("div", { class: "nav-section" }, n.section) : h("a", { href: n.href, dataset: { nav: n.nav } }, n.label))),
    );
    const header = h(
      "header",
      { id: "hdr" },
      h("a", { class: "brand", href: "#/dashboard" }, h("span", { class: "logo" }, "RM"), "RepayMesh", h("span", { class: "brand-sub" }, "ops console")),
      h("div", { id: "hdr-clock", class: "hdr-clock" }),
      h("div", { id: "hdr-node", class: "hdr-node" }),
      h("div", { id: "hdr-user", class: "hdr-user" }),
      h("button", { type: "button", class: "btn btn-small", id: "logout", onclick: logout }, "Log out"),
    );
    root.appendChild(header);
    root.appendChild(h("div", { id: "body" }, nav, h("main", { id: "main" }, h("div", { id: "banner", "aria-live": "polite" }), h("div", { id: "page" }))));
  }

  function renderUser() {
    const slot = document.getElementById("hdr-user");
    if (!slot) return;
    RM.clear(slot);
    RM.append(slot, [
      h("span", { class: "hdr-label" }, "Role"),
      RM.role ? RM.badge(RM.role, "role-" + RM.role) : RM.badge("unknown", "muted"),
      RM.userName ? h("span", { class: "muted" }, RM.userName) : null,
    ]);
  }

  async function loadNode() {
    const slot = document.getElementById("hdr-node");
    try {
      const hl = await RM.api("GET", "/health");
      RM.health = hl;
      if (slot) {
        RM.clear(slot);
        RM.append(slot, [h("span", { class: "hdr-label" }, "Node"), h("span", null, hl.nodeID), RM.badge(hl.mode, "muted"), RM.badge(hl.status, hl.status === "ok" ? "ok" : "err")]);
      }
    } catch (e) {
      if (slot) {
        RM.clear(slot);
        slot.appendChild(RM.badge("health: " + e.code, "err"));
      }
    }
  }

  async function start() {
    shell();
    started = true;
    try {
      RM.setClock(RM.clock || (await RM.api("GET", "/test-clock")));
    } catch (e) {
      if (e.status === 401) return;
      RM.showError(e);
    }
    let who;
    try {
      who = await detectRole();
    } catch (e) {
      if (e.status === 401) {
        RM.onUnauthorized(e);
        return;
      }
      who = { role: null };
    }
    RM.role = who.role;
    RM.userName = who.name;
    renderUser();
    loadNode();
    scheduleClockRefresh();
    await RM.render();
  }

  window.addEventListener("hashchange", () => {
    if (started) RM.render();
  });

  function boot() {
    if (RM.getKey()) {
      start().catch((e) => {
        if (e && e.status !== 401) RM.showError(e);
      });
    } else {
      showLogin("");
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
