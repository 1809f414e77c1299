// Admin: queues (departments) — id, name, colour, greeting.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { state, emit } from "../state.js";
import { field, formDialog, confirmDialog, toast, errorText } from "./ui.js";

export function createQueuesSection() {
  let queues = [];
  const tbody = h("tbody");
  const el = h("section", { class: "admin-section", test: "admin-queues-section" },
    h("div", { class: "section-head" },
      h("h2", { text: t("queues.title") }),
      h("button", { type: "button", class: "btn btn-primary", test: "queue-create", text: t("queues.create"), on: { click: () => edit(null) } })),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "queues-table" },
        h("thead", null, h("tr", null,
          ["queues.name", "queues.id", "queues.greeting", "queues.actions"].map((key) => h("th", { scope: "col", text: t(key) })))),
        tbody)));

  function render() {
    if (!queues.length) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "4", class: "muted", text: t("queues.none") })));
      return;
    }
    tbody.replaceChildren(...queues.map((q) => {
      const dot = h("span", { class: "queue-dot", "aria-hidden": "true" });
      dot.style.setProperty("--queue-color", q.color);
      return h("tr", { test: "queue-row", dataset: { queueId: q.id } },
        h("td", null, dot, h("span", { test: "queue-row-name", text: q.name })),
        h("td", null, h("code", { text: q.id })),
        h("td", { class: "cell-clip", text: q.greeting || "—" }),
        h("td", { class: "cell-actions" },
          h("button", { type: "button", class: "btn btn-small", test: "queue-edit", text: t("common.edit"), on: { click: () => edit(q) } }),
          h("button", { type: "button", class: "btn btn-small btn-danger-outline", test: "queue-delete", text: t("common.delete"), on: { click: () => remove(q) } })));
    }));
  }

  async function load() {
    try {
      queues = (await api.get("/queues")).items;
      state.queues = queues;
      emit("queues", null);
      render();
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "4", class: "form-error", text: errorText(err) })));
    }
  }

  function slug(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
  }

  function edit(queue) {
    const creating = !queue;
    const name = h("input", { type: "text", maxlength: "60", value: queue ? queue.name : "", test: "queue-name" });
    const id = h("input", { type: "text", maxlength: "64", value: queue ? queue.id : "", test: "queue-id", pattern: "[a-z0-9_-]+", disabled: !creating });
    const color = h("input", { type: "color", value: queue ? queue.color : "#00a884", test: "queue-color" });
    const greeting = h("textarea", { rows: "3", maxlength: "4096", value: queue && queue.greeting ? queue.greeting : "", test: "queue-greeting" });
    // With several business numbers, a queue may serve some of them only.
    const numbers = h("select", { multiple: true, test: "queue-numbers", size: String(Math.min(4, state.numbers.length)) },
      state.numbers.map((n) => h("option", { value: n.id, text: n.name, selected: !!queue && (queue.number_ids || []).includes(n.id) })));
    const chosenNumbers = () => [...numbers.selectedOptions].map((o) => o.value);
    const sla = h("input", { type: "number", min: "1", max: "1440", test: "queue-sla", value: queue && queue.sla_wait_seconds ? String(Math.round(queue.sla_wait_seconds / 60)) : "" });
    const slaSeconds = () => (sla.value ? Number(sla.value) * 60 : null);
    let idTouched = !creating;
    id.addEventListener("input", () => {
      idTouched = true;
    });
    name.addEventListener("input", () => {
      if (!idTouched) id.value = slug(name.value);
    });
    formDialog({
      title: creating ? t("queues.create") : t("queues.edit", { name: queue.name }),
      test: "queue-dialog",
      submitTest: "queue-save",
      fields: [
        field(t("queues.name"), name, { name: "name" }),
        field(t("queues.id"), id, { name: "id", hint: t("queues.id_hint") }),
        field(t("queues.color"), color, { name: "color" }),
        field(t("queues.greeting"), greeting, { name: "greeting", hint: t("queues.greeting_hint") }),
        state.numbers.length > 1 ? field(t("queues.numbers"), numbers, { name: "number_ids", hint: t("queues.numbers_hint") }) : null,
        field(t("queues.sla"), sla, { name: "sla_wait_seconds", hint: t("queues.sla_hint") }),
      ].filter(Boolean),
      onSubmit: async () => {
        const text = greeting.value.trim() ? greeting.value : null;
        if (creating) {
          await api.post("/queues", { id: id.value.trim() || undefined, name: name.value.trim(), color: color.value, greeting: text, number_ids: chosenNumbers(), sla_wait_seconds: slaSeconds() });
          toast(t("queues.created"), "success");
        } else {
          await api.patch(`/queues/${encodeURIComponent(queue.id)}`, { name: name.value.trim(), color: color.value, greeting: text, number_ids: chosenNumbers(), sla_wait_seconds: slaSeconds() });
          toast(t("queues.saved"), "success");
        }
        load();
      },
    });
    name.focus();
  }

  async function remove(queue) {
    const ok = await confirmDialog({
      title: t("common.delete"),
      message: t("queues.delete_confirm", { name: queue.name }),
      confirmLabel: t("common.delete"),
      danger: true,
    });
    if (!ok) return;
    try {
      await api.del(`/queues/${encodeURIComponent(queue.id)}`);
      toast(t("queues.deleted"), "success");
      load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  load();
  return { el, destroy() {} };
}
