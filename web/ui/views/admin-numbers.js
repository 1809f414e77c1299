// Admin: business numbers — the WhatsApp numbers this hub answers (name, number shown to
// people, rate limit, on or off).

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { state, emit } from "../state.js";
import { formatPhone } from "../format.js";
import { field, formDialog, confirmDialog, toast, errorText } from "./ui.js";

export function createNumbersSection() {
  let numbers = [];
  const tbody = h("tbody");
  const el = h("section", { class: "admin-section", test: "admin-numbers-section" },
    h("div", { class: "section-head" },
      h("h2", { text: t("numbers.title") }),
      h("button", { type: "button", class: "btn btn-primary", test: "number-create", text: t("numbers.create"), on: { click: () => edit(null) } })),
    h("p", { class: "muted", text: t("numbers.intro") }),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "numbers-table" },
        h("thead", null, h("tr", null,
          ["numbers.name", "numbers.id", "numbers.display", "numbers.rate", "numbers.state", "queues.actions"].map((key) => h("th", { scope: "col", text: t(key) })))),
        tbody)));

  function render() {
    tbody.replaceChildren(...numbers.map((n) => h("tr", { test: "number-row", dataset: { numberId: n.id } },
      h("td", { test: "number-row-name", text: n.name }),
      h("td", null, h("code", { text: n.id })),
      h("td", { text: n.display_number ? formatPhone(n.display_number) : "—" }),
      h("td", { text: n.rate_limit ? t("numbers.per_second", { n: n.rate_limit }) : t("numbers.default_rate") }),
      h("td", { text: n.enabled ? t("numbers.enabled") : t("numbers.disabled") }),
      h("td", { class: "cell-actions" },
        h("button", { type: "button", class: "btn btn-small", test: "number-edit", text: t("common.edit"), on: { click: () => edit(n) } }),
        h("button", { type: "button", class: "btn btn-small btn-danger-outline", test: "number-delete", text: t("common.delete"), on: { click: () => remove(n) } })))));
  }

  async function load() {
    try {
      numbers = (await api.get("/numbers")).items;
      state.numbers = numbers;
      emit("chats", null);
      render();
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "6", class: "form-error", text: errorText(err) })));
    }
  }

  function edit(number) {
    const creating = !number;
    const name = h("input", { type: "text", maxlength: "60", value: number ? number.name : "", test: "number-name" });
    const id = h("input", { type: "text", maxlength: "64", value: number ? number.id : "", test: "number-id", disabled: !creating });
    const display = h("input", { type: "tel", maxlength: "24", value: number && number.display_number ? number.display_number : "", test: "number-display" });
    const rate = h("input", { type: "number", min: "1", max: "1000", value: number && number.rate_limit ? String(number.rate_limit) : "", test: "number-rate" });
    const enabled = h("input", { type: "checkbox", test: "number-enabled" });
    enabled.checked = number ? number.enabled : true;
    formDialog({
      title: creating ? t("numbers.create") : t("numbers.edit", { name: number.name }),
      test: "number-dialog",
      submitTest: "number-save",
      fields: [
        field(t("numbers.name"), name, { name: "name" }),
        field(t("numbers.id"), id, { name: "id", hint: t("numbers.id_hint") }),
        field(t("numbers.display"), display, { name: "display_number" }),
        field(t("numbers.rate"), rate, { name: "rate_limit", hint: t("numbers.rate_hint") }),
        field(t("numbers.enabled"), enabled, { name: "enabled" }),
      ],
      onSubmit: async () => {
        const body = {
          name: name.value.trim(),
          display_number: display.value.trim() || null,
          rate_limit: rate.value ? Number(rate.value) : null,
          enabled: enabled.checked,
        };
        if (creating) {
          await api.post("/numbers", { id: id.value.trim(), ...body });
        } else {
          await api.patch(`/numbers/${encodeURIComponent(number.id)}`, body);
        }
        toast(t("numbers.saved"), "success");
        load();
      },
    });
    name.focus();
  }

  async function remove(number) {
    const ok = await confirmDialog({
      title: t("common.delete"),
      message: t("numbers.delete_confirm", { name: number.name }),
      confirmLabel: t("common.delete"),
      danger: true,
    });
    if (!ok) return;
    try {
      await api.del(`/numbers/${encodeURIComponent(number.id)}`);
      toast(t("numbers.deleted"), "success");
      load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  load();
  return { el, destroy() {} };
}
