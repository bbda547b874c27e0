/* Schedule calculator: the plan preview form alone, with the resulting schedule (no order is written). */
(function () {
  "use strict";

  const RM = window.RM;
  const h = RM.h;
  const S = RM.schedule;

  RM.route(
    "/calculator",
    (el) => {
      const defaults = { principal: "100000.00", annualRate: "0.12", term: 12, repaymentMethod: "EQUAL_INSTALLMENT", startDate: S.today() };
      const result = h("div", { class: "calc-result" }, h("p", { class: "muted" }, "Fill in the terms and press Calculate."));
      const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Calculate schedule");
      const form = h(
        "form",
        {
          class: "card form",
          novalidate: true,
          onsubmit: async (e) => {
            e.preventDefault();
            const terms = S.readTerms(form);
            if (!terms) return;
            await RM.busy(submit, async () => {
              try {
                const p = await S.preview(terms);
                RM.clear(result);
                result.appendChild(S.scheduleTable(p));
              } catch (err) {
                RM.formError(form, err);
              }
            });
          },
        },
        RM.fieldGrid(S.TERM_FIELDS, defaults),
        h("ul", { class: "form-errors" }),
        h("div", { class: "form-actions" }, submit),
      );
      RM.append(el, [
        h("h1", null, "Schedule calculator"),
        h("p", { class: "muted" }, "Preview a repayment schedule from terms alone — nothing is stored. Available to every role."),
        form,
        h("section", { class: "card" }, h("h2", null, "Schedule"), result),
      ]);
    },
    "calculator",
  );
})();
