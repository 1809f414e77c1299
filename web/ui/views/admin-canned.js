// Admin: canned responses (quick replies typed as /shortcut in the composer).

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { state } from "../state.js";
import { field, formDialog, confirmDialog, toast, errorText } from "./ui.js";

export function createCannedSection() {
  let items = [];
  const tbody = h("tbody");
  const el = h("section", { class: "admin-section", test: "admin-canned-section" },
    h("div", { class: "section-head" },
      h("h2", { text: t("canned.title") }),
      h("button", { type: "button", class: "btn btn-primary", test: "canned-create", text: t("canned.create"), on: { click: () => edit(null) } })),
    h("p", { class: "muted", text: t("canned.explain") }),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "canned-table" },
        h("thead", null, h("tr", null, ["canned.shortcut", "canned.text", "canned.actions"].map((key) => h("th", { scope: "col", text: t(key) })))),
        tbody)));

  function render() {
    if (!items.length) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "3", class: "muted", text: t("canned.none") })));
      return;
    }
    tbody.replaceChildren(...items.map((c) => h("tr", { test: "canned-row", dataset: { cannedId: c.id } },
      h("td", null, h("code", { text: "/" + String(c.shortcut).replace(/^\//, "") })),
      h("td", { class: "cell-clip", text: c.text }),
      h("td", { class: "cell-actions" },
        h("button", { type: "button", class: "btn btn-small", test: "canned-edit", text: t("common.edit"), on: { click: () => edit(c) } }),
        h("button", { type: "button", class: "btn btn-small btn-danger-outline", test: "canned-delete", text: t("common.delete"), on: { click: () => remove(c) } })))));
  }

  async function load() {
    try {
      items = (await api.get("/canned-responses")).items;
      state.canned = items;
      state.cannedAvailable = true;
      render();
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "3", class: "form-error", text: errorText(err) })));
    }
  }

  function edit(item) {
    const shortcut = h("input", { type: "text", maxlength: "32", value: item ? String(item.shortcut).replace(/^\//, "") : "", test: "canned-shortcut" });
    const text = h("textarea", { rows: "5", maxlength: "4096", value: item ? item.text : "", test: "canned-text" });
    const buttons = h("input", { type: "text", maxlength: "70", value: item && item.buttons ? item.buttons.join(", ") : "", test: "canned-buttons" });
    formDialog({
      title: item ? t("canned.edit") : t("canned.create"),
      test: "canned-dialog",
      submitTest: "canned-save",
      fields: [
        field(t("canned.shortcut"), shortcut, { name: "shortcut", hint: t("canned.shortcut_hint") }),
        field(t("canned.text"), text, { name: "text" }),
        field(t("canned.buttons"), buttons, { name: "buttons", hint: t("canned.buttons_hint") }),
      ],
      onSubmit: async () => {
        const body = { shortcut: shortcut.value.trim().replace(/^\//, ""), text: text.value,
          buttons: buttons.value.split(",").map((b) => b.trim()).filter(Boolean) };
        if (item) await api.patch(`/canned-responses/${encodeURIComponent(item.id)}`, body);
        else await api.post("/canned-responses", body);
        toast(t("canned.saved"), "success");
        load();
      },
    });
    shortcut.focus();
  }

  async function remove(item) {
    const ok = await confirmDialog({ title: t("common.delete"), message: t("canned.delete_confirm", { shortcut: item.shortcut }), confirmLabel: t("common.delete"), danger: true });
    if (!ok) return;
    try {
      await api.del(`/canned-responses/${encodeURIComponent(item.id)}`);
      load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  load();
  return { el, destroy() {} };
}
