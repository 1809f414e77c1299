// Admin: labels, the tags agents put on chats and contacts, each with a colour.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { state, emit } from "../state.js";
import { labelChip } from "./labels.js";
import { field, formDialog, confirmDialog, toast, errorText } from "./ui.js";

const COLORS = ["#25d366", "#128c7e", "#34b7f1", "#7c4dff", "#ff9800", "#e53935", "#ec407a", "#8d6e63"];

export function createLabelsSection() {
  let labels = [];
  const tbody = h("tbody");
  const el = h("section", { class: "admin-section", test: "admin-labels-section" },
    h("div", { class: "section-head" },
      h("h2", { text: t("labels.title") }),
      h("button", { type: "button", class: "btn btn-primary", test: "label-create", text: t("labels.create"), on: { click: () => edit(null) } })),
    h("p", { class: "muted", text: t("labels.intro") }),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "labels-table" },
        h("thead", null, h("tr", null, ["labels.label", "queues.actions"].map((key) => h("th", { scope: "col", text: t(key) })))),
        tbody)));

  function render() {
    state.labels = labels;
    emit("chats", null);
    if (!labels.length) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "2", class: "muted", text: t("labels.none_defined") })));
      return;
    }
    tbody.replaceChildren(...labels.map((label, i) => h("tr", { test: "label-row" },
      h("td", null, labelChip(label.name)),
      h("td", { class: "cell-actions" },
        h("button", { type: "button", class: "btn btn-small", test: "label-edit", text: t("common.edit"), on: { click: () => edit(i) } }),
        h("button", { type: "button", class: "btn btn-small btn-danger-outline", test: "label-delete", text: t("common.delete"), on: { click: () => remove(i) } })))));
  }

  async function save(list) {
    labels = (await api.put("/labels", { items: list })).items;
    render();
    toast(t("labels.saved"), "success");
  }

  function edit(index) {
    const current = index === null ? null : labels[index];
    const name = h("input", { type: "text", maxlength: "32", value: current ? current.name : "", test: "label-name" });
    const color = h("input", { type: "color", value: current ? current.color : COLORS[labels.length % COLORS.length], test: "label-color" });
    const position = index === null ? labels.length : index;
    formDialog({
      title: current ? t("labels.edit", { name: current.name }) : t("labels.create"),
      test: "label-edit-dialog",
      submitTest: "label-edit-save",
      fields: [
        field(t("labels.label"), name, { name: `items[${position}].name` }),
        field(t("labels.color"), color, { name: `items[${position}].color` }),
      ],
      onSubmit: async () => {
        const list = labels.slice();
        const item = { name: name.value.trim(), color: color.value };
        if (index === null) list.push(item);
        else list[index] = item;
        await save(list);
      },
    });
  }

  async function remove(index) {
    const sure = await confirmDialog({ title: t("labels.delete_title"), message: t("labels.delete_explain", { name: labels[index].name }), confirmLabel: t("common.delete"), danger: true, test: "label-delete-dialog" });
    if (!sure) return;
    try {
      await save(labels.filter((_, i) => i !== index));
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  api.get("/labels").then((page) => {
    labels = page.items;
    render();
  }).catch((err) => tbody.replaceChildren(h("tr", null, h("td", { colspan: "2", class: "form-error", text: errorText(err) }))));
  return { el, destroy() {} };
}
