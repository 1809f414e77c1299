// The contact book (staff): search and filters, CSV import with its report and CSV export,
// and one contact's page: names, labels, notes, the admin's fields, marketing consent, and
// every chat with its satisfaction answer.

import { h, avatar, replace } from "../dom.js";
import { t, has } from "../i18n.js";
import * as api from "../api.js";
import { state } from "../state.js";
import { contactName, dateTime, formatPhone, listTime, previewText } from "../format.js";
import { dialog, field, toast, errorText, empty, showFieldErrors, checkbox } from "./ui.js";
import { labelChip } from "./labels.js";
import { downloadBlob } from "../media.js";

/** The admin's contact fields, read once per page. */
async function fieldDefs() {
  try {
    return (await api.get("/contact-fields")).items;
  } catch (err) {
    return [];
  }
}

export function createContactsView({ navigate }) {
  const q = h("input", { type: "search", class: "search-input", test: "contacts-search", placeholder: t("contacts.search"), "aria-label": t("contacts.search") });
  const label = h("input", { type: "text", test: "contacts-label", placeholder: t("contacts.label_filter"), "aria-label": t("contacts.label_filter") });
  const optedOut = h("select", { test: "contacts-opted-out", "aria-label": t("contacts.marketing") },
    h("option", { value: "", text: t("contacts.marketing_any") }),
    h("option", { value: "false", text: t("contacts.marketing_ok") }),
    h("option", { value: "true", text: t("contacts.marketing_out") }));
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "btn", test: "contacts-more", text: t("common.load_more"), hidden: true });
  const detail = h("div", { class: "contact-detail", test: "contact-detail", hidden: true });
  const listSection = h("section", { class: "page-section", test: "contacts-list" },
    h("div", { class: "filters" }, q, label, optedOut),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "contacts-table" },
        h("thead", null, h("tr", null,
          ["contacts.name", "contacts.phone", "contacts.labels", "contacts.marketing", "contacts.last"].map((key) => h("th", { scope: "col", text: t(key) })))),
        tbody)),
    more);
  const el = h("div", { class: "page contacts", test: "contacts" },
    h("header", { class: "page-head section-head" },
      h("h1", { text: t("contacts.title") }),
      h("div", { class: "form-actions" },
        h("button", { type: "button", class: "btn", test: "contacts-export", text: t("contacts.export"), on: { click: exportCsv } }),
        h("button", { type: "button", class: "btn btn-primary", test: "contacts-import", text: t("contacts.import"), on: { click: importCsv } }))),
    detail,
    listSection);

  let cursor = null;
  let defs = [];
  let shownId = null;

  function params(extra) {
    return api.query({ q: q.value.trim(), label: label.value.trim(), opted_out: optedOut.value, ...extra });
  }

  function row(c) {
    const out = c.marketing_opt_out;
    return h("tr", { test: "contact-row", class: "clickable", dataset: { contactId: c.id }, tabindex: "0",
      on: { click: () => navigate(`#/contacts/${c.id}`), keydown: (e) => e.key === "Enter" && navigate(`#/contacts/${c.id}`) } },
    h("td", null, h("span", { class: "cell-who" }, avatar(contactName(c), c.wa_id || c.user_id, "small"), h("span", { test: "contact-row-name", text: contactName(c) }))),
    h("td", { text: c.wa_id ? formatPhone(c.wa_id) : (c.username ? "@" + c.username : "—") }),
    h("td", null, (c.tags || []).map(labelChip)),
    h("td", null, out ? h("span", { class: "badge badge-warn", test: "contact-opted-out", text: t("contacts.opted_out") }) : h("span", { class: "muted", text: c.marketing_opt_in ? t("contacts.opted_in") : "—" })),
    h("td", { class: "muted", text: c.last_inbound_at ? listTime(c.last_inbound_at) : "—" }));
  }

  async function load(append) {
    try {
      const page = await api.get("/contacts" + params({ limit: 50, cursor: append ? cursor : null }));
      const rows = page.items.map(row);
      if (append) tbody.append(...rows);
      else tbody.replaceChildren(...rows);
      if (!append && !rows.length) tbody.replaceChildren(h("tr", null, h("td", { colspan: "5" }, empty(t("contacts.none"), "contacts-empty"))));
      cursor = page.next_cursor;
      more.hidden = !cursor;
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "5", class: "form-error", text: errorText(err) })));
    }
  }
  let timer = null;
  const reload = () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(false), 250);
  };
  q.addEventListener("input", reload);
  label.addEventListener("input", reload);
  optedOut.addEventListener("change", reload);
  more.addEventListener("click", () => load(true));

  function numberPicker() {
    const select = h("select", { test: "import-number" },
      state.numbers.map((n) => h("option", { value: n.id, text: n.name })));
    return select;
  }

  function importCsv() {
    const file = h("input", { type: "file", accept: ".csv,text/csv", test: "import-file" });
    const number = numberPicker();
    const report = h("div", { class: "import-report", test: "import-report", hidden: true });
    const fields = [field(t("contacts.import_file"), file, { name: "file", hint: t("contacts.import_hint") })];
    if (state.numbers.length > 1) fields.push(field(t("contacts.number"), number, { name: "phone_number_id" }));
    const body = h("div", { class: "form-grid" }, fields, report);
    dialog({
      title: t("contacts.import"),
      test: "import-dialog",
      wide: true,
      body,
      actions: [
        { label: t("common.close"), test: "import-close" },
        {
          label: t("contacts.import_go"), kind: "primary", test: "import-go",
          onClick: async ({ error }) => {
            const chosen = file.files && file.files[0];
            if (!chosen) {
              error(t("contacts.import_pick"));
              return false;
            }
            try {
              const path = "/contacts/import" + api.query({ phone_number_id: number.value || state.numbers[0]?.id });
              const result = await api.postFile(path, chosen);
              showReport(report, result);
              load(false);
            } catch (err) {
              error(err.fields ? showFieldErrors(body, err) || t("admin.fix_fields") : errorText(err));
            }
            return false;
          },
        },
      ],
    });
  }

  function showReport(box, result) {
    const refused = result.rows.filter((r) => r.status === "refused");
    box.hidden = false;
    const why = (r) => (r.code && has("contacts.refused." + r.code) ? `${t("contacts.refused." + r.code)} (${r.reason})` : r.reason);
    replace(box,
      h("p", { test: "import-summary", text: t("contacts.import_summary", { created: result.created, merged: result.merged, refused: result.refused }) }),
      result.ignored_columns.length ? h("p", { class: "muted", text: t("contacts.import_ignored", { columns: result.ignored_columns.join(", ") }) }) : null,
      refused.length ? h("div", { class: "table-wrap report-rows" },
        h("table", { class: "table", test: "import-refused" },
          h("thead", null, h("tr", null, h("th", { text: t("contacts.import_row") }), h("th", { text: t("contacts.import_reason") }))),
          h("tbody", null, refused.slice(0, 200).map((r) => h("tr", null, h("td", { text: String(r.row) }), h("td", { text: why(r) })))))) : null);
  }

  async function exportCsv() {
    try {
      downloadBlob(await api.blob("/contacts/export" + params({})), "contatos.csv");
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  function fieldInput(def, value) {
    const v = value === undefined || value === null ? "" : String(value);
    if (def.kind === "choice") {
      return h("select", { test: `field-${def.key}`, value: v },
        h("option", { value: "", text: "—" }),
        def.options.map((o) => h("option", { value: o, text: o })));
    }
    const type = def.kind === "number" ? "number" : def.kind === "date" ? "date" : "text";
    return h("input", { type, test: `field-${def.key}`, value: v, step: def.kind === "number" ? "any" : null });
  }

  async function showContact(id) {
    shownId = id;
    detail.hidden = false;
    listSection.hidden = true;
    detail.replaceChildren(h("p", { class: "muted", text: t("common.loading") }));
    let contact;
    let chats;
    try {
      [contact, chats] = await Promise.all([api.get(`/contacts/${encodeURIComponent(id)}`), api.get(`/contacts/${encodeURIComponent(id)}/chats`)]);
    } catch (err) {
      detail.replaceChildren(h("p", { class: "form-error", text: errorText(err) }));
      return;
    }
    if (shownId !== id) return;
    const name = h("input", { type: "text", maxlength: "100", value: contact.name || "", test: "contact-edit-name" });
    const labels = h("input", { type: "text", value: (contact.tags || []).join(", "), test: "contact-edit-labels" });
    const notes = h("textarea", { rows: "3", maxlength: "4096", test: "contact-edit-notes" });
    notes.value = contact.notes || "";
    const noMarketing = checkbox(t("contact.opt_out"), { checked: !!contact.marketing_opt_out, test: "contact-edit-opt-out" });
    const inputs = defs.map((def) => [def, fieldInput(def, contact.fields[def.key])]);
    const form = h("div", { class: "form-grid" },
      field(t("contacts.name"), name, { name: "name" }),
      field(t("contacts.labels"), labels, { name: "tags", hint: t("contacts.labels_hint") }),
      field(t("contact.notes"), notes, { name: "notes" }),
      inputs.map(([def, input]) => field(def.label, input, { name: `fields.${def.key}` })),
      h("div", { class: "field", dataset: { field: "marketing_opt_out" } }, noMarketing,
        contact.marketing_opt_out ? h("span", { class: "field-hint", text: t("contact.opt_out_since", { when: dateTime(contact.marketing_opt_out.at), how: t("contact.opt_out_source." + contact.marketing_opt_out.source) }) }) : null));
    const save = h("button", { type: "button", class: "btn btn-primary", test: "contact-save", text: t("common.save") });
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    save.addEventListener("click", async () => {
      const fields = {};
      for (const [def, input] of inputs) fields[def.key] = input.value.trim() === "" ? null : input.value.trim();
      const body = {
        name: name.value.trim() || null,
        notes: notes.value.trim() || null,
        tags: labels.value.split(",").map((s) => s.trim()).filter(Boolean),
        marketing_opt_out: noMarketing.input.checked,
        fields,
      };
      error.hidden = true;
      try {
        await api.patch(`/contacts/${encodeURIComponent(contact.id)}`, body);
        toast(t("contact.saved"), "success");
        showContact(contact.id);
      } catch (err) {
        const rest = err.fields ? showFieldErrors(form, err) : errorText(err);
        error.textContent = rest || t("admin.fix_fields");
        error.hidden = false;
      }
    });
    const history = chats.items.map((chat) => h("li", { class: "history-row", test: "contact-chat" },
      h("a", { href: `#/chats/${chat.id}`, text: listTime(chat.updated_at) }),
      h("span", { class: "chip", text: t("status." + chat.status) }),
      chat.csat ? h("span", { class: "chip", test: "contact-chat-csat", text: "★".repeat(chat.csat.rating) }) : null,
      h("span", { class: "muted", text: chat.last_message ? previewText(chat.last_message.preview) : "" })));
    detail.replaceChildren(
      h("section", { class: "page-section" },
        h("div", { class: "section-head" },
          h("h2", { test: "contact-detail-name", text: contactName(contact) }),
          h("button", { type: "button", class: "btn", test: "contact-back", text: t("common.back"), on: { click: () => navigate("#/contacts") } })),
        h("p", { class: "muted", text: [contact.wa_id ? formatPhone(contact.wa_id) : null, contact.username ? "@" + contact.username : null, contact.profile_name].filter(Boolean).join(" · ") }),
        form, error, h("div", { class: "form-actions" }, save)),
      h("section", { class: "page-section" },
        h("h2", { text: t("contacts.history") }),
        history.length ? h("ul", { class: "history-list", test: "contact-history" }, history) : empty(t("contacts.no_chats"))));
  }

  function showList() {
    shownId = null;
    detail.hidden = true;
    listSection.hidden = false;
  }

  const ready = fieldDefs().then((list) => {
    defs = list;
  });
  load(false);

  return {
    el,
    async show(id) {
      await ready;
      if (id) showContact(id);
      else showList();
    },
    destroy() {
      clearTimeout(timer);
    },
  };
}
