/* Test clock: show the business clock; advance it, set it to a later time, freeze / unfreeze (admin, TEST_CLOCK=1). */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;

  RM.route(
    "/clock",
    async (el) => {
      RM.append(el, [h("h1", null, "Business clock"), h("div", { class: "loading" }, "Loading…")]);
      const c = await RM.api("GET", "/test-clock");
      RM.setClock(c);
      RM.clear(el);

      const view = h("div");
      let current = c;
      const freezeBtn = h("button", { type: "button", class: "btn", onclick: () => move({ frozen: true }, freezeBtn) }, "Freeze");
      const unfreezeBtn = h("button", { type: "button", class: "btn", onclick: () => move({ frozen: false }, unfreezeBtn) }, "Unfreeze");
      const syncButtons = () => {
        // Offer only the switch that changes something (the role guard below still applies).
        if (RM.can("admin")) {
          freezeBtn.disabled = current.frozen;
          unfreezeBtn.disabled = !current.frozen;
        }
      };
      const showClock = (clock) => {
        current = clock;
        RM.clear(view);
        RM.append(view, [
          h(
            "div",
            { class: "stat-row" },
            RM.stat("Business date", clock.businessDate),
            RM.stat("Local time", clock.localTime, clock.timeZone),
            RM.stat("State", clock.frozen ? "Frozen" : "Running", clock.frozen ? "time stands still" : "moves with real time"),
            RM.stat("Test clock", clock.testClock ? "Enabled" : "Disabled", clock.testClock ? "TEST_CLOCK=1" : "node runs on real time"),
          ),
          RM.kv([
            ["Now (UTC)", h("span", { class: "mono" }, clock.now)],
            ["Time zone", clock.timeZone],
            ["Frozen", RM.yesNo(clock.frozen)],
            ["Version", String(clock.version)],
          ]),
        ]);
      };
      showClock(c);

      async function move(body, button) {
        await RM.busy(button, async () => {
          try {
            const next = await RM.api("POST", "/test-clock", { body });
            RM.setClock(next);
            showClock(next);
            RM.showInfo("Business clock is now " + next.businessDate + " " + next.localTime + (next.frozen ? " (frozen)" : ""));
          } catch (err) {
            RM.formError(el, err);
          }
        });
        syncButtons();
      }

      const amount = h("input", { type: "number", name: "advance", min: "0", step: "1", value: "1", class: "input-short" });
      const unit = h("select", { name: "unit" }, h("option", { value: "days" }, "days"), h("option", { value: "hours" }, "hours"), h("option", { value: "minutes" }, "minutes"));
      const advanceBtn = h("button", { type: "submit", class: "btn btn-primary" }, "Advance");
      const advanceForm = h(
        "form",
        {
          class: "inline-form",
          onsubmit: (e) => {
            e.preventDefault();
            RM.clearFieldErrors(el);
            const raw = String(amount.value).trim();
            if (!/^\d+$/.test(raw)) {
              RM.showFieldErrors(el, [{ field: "advance", message: "A whole number ≥ 0" }]);
              return;
            }
            const n = Number.parseInt(raw, 10);
            const body = unit.value === "days" ? { advanceDays: n } : { advanceSeconds: n * (unit.value === "hours" ? 3600 : 60) };
            move(body, advanceBtn);
          },
        },
        h("label", null, "Move forward by"),
        amount,
        unit,
        advanceBtn,
        h("div", { class: "field-error", dataset: { field: "advance" } }),
        h("div", { class: "field-error", dataset: { field: "advanceDays" } }),
        h("div", { class: "field-error", dataset: { field: "advanceSeconds" } }),
      );

      const to = h("input", { type: "datetime-local", name: "to", step: "1" });
      const freezeAt = h("input", { type: "checkbox", name: "freezeAt" });
      const setBtn = h("button", { type: "submit", class: "btn btn-primary" }, "Set");
      const setForm = h(
        "form",
        {
          class: "inline-form",
          onsubmit: (e) => {
            e.preventDefault();
            RM.clearFieldErrors(el);
            if (!to.value) {
              RM.showFieldErrors(el, [{ field: "to", message: "Pick a date and time" }]);
              return;
            }
            const body = { to: to.value };
            if (freezeAt.checked) body.frozen = true;
            move(body, setBtn);
          },
        },
        h("label", null, "Set to"),
        to,
        h("span", { class: "muted" }, "(read in " + (c.timeZone || "the business zone") + "; only forward)"),
        h("label", { class: "check" }, freezeAt, " and freeze"),
        setBtn,
        h("div", { class: "field-error", dataset: { field: "to" } }),
      );

      for (const b of [advanceBtn, setBtn, freezeBtn, unfreezeBtn]) RM.guard(b, "admin");
      syncButtons();

      RM.append(el, [
        h("div", { class: "page-head" }, h("h1", null, "Business clock"), h("button", { type: "button", class: "btn", onclick: () => RM.render() }, "Refresh")),
        h(
          "p",
          { class: "muted" },
          "Every service reads business time from this clock (debit slots, overdue accrual, reminders). With TEST_CLOCK=1 an admin can freeze it and move it forward to rehearse a due date; it never moves backwards.",
        ),
        h("section", { class: "card" }, view),
        c.testClock
          ? null
          : h("div", { class: "note note-warn" }, "This node runs without TEST_CLOCK=1: moving the clock will be refused with 403 TEST_CLOCK_DISABLED."),
        !RM.can("admin") ? h("div", { class: "note" }, "Moving the clock needs the admin role; you are " + RM.role + ".") : null,
        h(
          "section",
          { class: "card" },
          h("h2", null, "Move the clock"),
          advanceForm,
          setForm,
          h("div", { class: "inline-form" }, h("label", null, "Freeze"), freezeBtn, unfreezeBtn),
          h("ul", { class: "form-errors" }),
        ),
      ]);
    },
    "clock",
  );
})();
