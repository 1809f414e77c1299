// Admin: the contact book's own fields (text, number, date, choice), shown on every
// contact, read from CSV columns and usable as campaign variables ({{field.key}}).

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { field, formDialog, confirmDialog, toast, errorText } from "./ui.js";

const KINDS = ["text", "number", "date", "choice"];

export function createFieldsSection() {
  let fields = [];
  const tbody = h("tbody");
  const el = h("section", { class: "admin-section", test: "admin-fields-section" },
    h("div", { class: "section-head" },
      h("h2", { text: t("fields.title") }),
      h("button", { type: "button", class: "btn btn-primary", test: "field-create", text: t("fields.create"), on: { click: () => edit(null) } })),
    h("p", { class: "muted", text: t("fields.intro") }),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "fields-table" },
        h("thead", null, h("tr", null,
          ["fields.label", "fields.key", "fields.kind", "fields.options", "queues.actions"].map((key) => h("th", { scope: "col", text: t(key) })))),
        tbody)));

  function render() {
    if (!fields.length) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "5", class: "muted", text: t("fields.none") })));
      return;
    }
    tbody.replaceChildren(...fields.map((f, i) => h("tr", { test: "field-row" },
      h("td", { text: f.label }),
      h("td", null, h("code", { text: f.key })),
      h("td", { text: t("fields.kind." + f.kind) }),
      h("td", { text: f.options.join(", ") || "—" }),
      h("td", { class: "cell-actions" },
        h("button", { type: "button", class: "btn btn-small", test: "field-edit", text: t("common.edit"), on: { click: () => edit(i) } }),
        h("button", { type: "button", class: "btn btn-small btn-danger-outline", test: "field-delete", text: t("common.delete"), on: { click: () => remove(i) } })))));
  }

  async function load() {
    try {
      fields = (await api.get("/contact-fields")).items;
      render();
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "5", class: "form-error", text: errorText(err) })));
    }
  }

  async function save(list) {
    fields = (await api.put("/contact-fields", { items: list })).items;
    render();
    toast(t("fields.saved"), "success");
  }

  function edit(index) {
    const current = index === null ? null : fields[index];
    const label = h("input", { type: "text", maxlength: "100", value: current ? current.label : "", test: "field-label" });
    const key = h("input", { type: "text", maxlength: "32", value: current ? current.key : "", test: "field-key", placeholder: "cidade" });
    const kind = h("select", { test: "field-kind", value: current ? current.kind : "text" },
      KINDS.map((k) => h("option", { value: k, text: t("fields.kind." + k) })));
    const options = h("input", { type: "text", value: current ? current.options.join(", ") : "", test: "field-options" });
    // A key is made from the label until the admin writes one.
    label.addEventListener("input", () => {
      if (!current && !key.dataset.touched) {
        key.value = label.value.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").replace(/^(\d)/, "f_$1").slice(0, 32);
      }
    });
    key.addEventListener("input", () => (key.dataset.touched = "1"));
    const position = index === null ? fields.length : index;
    formDialog({
      title: current ? t("fields.edit", { label: current.label }) : t("fields.create"),
      test: "field-dialog",
      submitTest: "field-save",
      fields: [
        field(t("fields.label"), label, { name: `items[${position}].label` }),
        field(t("fields.key"), key, { name: `items[${position}].key`, hint: t("fields.key_hint") }),
        field(t("fields.kind"), kind, { name: `items[${position}].kind` }),
        field(t("fields.options"), options, { name: `items[${position}].options`, hint: t("fields.options_hint") }),
      ],
      onSubmit: async () => {
        const item = {
          key: key.value.trim(),
          label: label.value.trim(),
          kind: kind.value,
          options: kind.value === "choice" ? options.value.split(",").map((s) => s.trim()).filter(Boolean) : [],
        };
        const list = fields.slice();
        if (index === null) list.push(item);
        else list[index] = item;
        await save(list);
      },
    });
  }

  async function remove(index) {
    const sure = await confirmDialog({ title: t("fields.delete_title"), message: t("fields.delete_explain", { label: fields[index].label }), confirmLabel: t("common.delete"), danger: true, test: "field-delete-dialog" });
    if (!sure) return;
    try {
      await save(fields.filter((_, i) => i !== index));
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  load();
  return { el, destroy() {} };
}
