// The contact panel: name, number, tags, notes (saved with PATCH) and past chats.

import { h, icon, avatar } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { contactName, contactHandle, dateTime, previewText } from "../format.js";
import { queueById, userName, numberName } from "../state.js";
import { field, checkbox, showFieldErrors, errorText, toast } from "./ui.js";
import { labelChip, pickLabels } from "./labels.js";

/** options: {chat, onClose, onOpenChat(id)} -> {el, destroy} */
export function createContactPanel({ chat, onClose, onOpenChat }) {
  const key = chat.contact.id;
  const body = h("div", { class: "panel-body" }, h("p", { class: "muted", text: t("common.loading") }));
  const el = h("aside", { class: "contact-panel", test: "contact-panel", "aria-label": t("contact.title") },
    h("header", { class: "pane-head" },
      h("button", { type: "button", class: "icon-btn", test: "contact-close", "aria-label": t("common.close"), on: { click: onClose } }, icon("close")),
      h("h2", { class: "pane-title", text: t("contact.title") })),
    body);

  function chatInfo() {
    const queue = chat.queue_id ? queueById(chat.queue_id) : null;
    const rows = [
      [t("contact.status"), t("status." + chat.status)],
      [t("contact.number"), numberName(chat.phone_number_id)],
      [t("contact.queue"), queue ? queue.name : (chat.queue_id || t("contact.no_queue"))],
      [t("contact.assignee"), chat.assignee_id ? (userName(chat.assignee_id) || "—") : t("contact.nobody")],
      [t("contact.started"), dateTime(chat.created_at)],
    ];
    if (chat.tags && chat.tags.length) rows.push([t("contact.chat_tags"), chat.tags.map(labelChip)]);
    return h("dl", { class: "info-list" }, rows.map(([k, v]) => [h("dt", { text: k }), h("dd", null, v)]));
  }

  async function load() {
    let contact;
    let history = [];
    try {
      [contact, history] = await Promise.all([
        api.get(`/contacts/${encodeURIComponent(key)}`),
        api.get(`/contacts/${encodeURIComponent(key)}/chats`).then((p) => p.items).catch(() => []),
      ]);
    } catch (err) {
      body.replaceChildren(h("p", { class: "form-error", text: errorText(err) }));
      return;
    }
    const name = h("input", { type: "text", value: contact.name || "", maxlength: "100", test: "contact-name", placeholder: contact.profile_name || "" });
    const tags = h("input", { type: "text", value: (contact.tags || []).join(", "), test: "contact-tags", placeholder: t("contact.tags_placeholder") });
    // The contact's labels as chips, and the picker that chooses them (or type them).
    const chips = h("span", { class: "contact-labels", test: "contact-labels" });
    const current = () => tags.value.split(",").map((x) => x.trim()).filter(Boolean);
    const showChips = () => chips.replaceChildren(...current().map(labelChip));
    tags.addEventListener("input", showChips);
    showChips();
    const pick = h("button", { type: "button", class: "btn btn-small", test: "contact-labels-pick", text: t("labels.button"),
      on: { click: () => pickLabels({ title: t("labels.button"), current: current(), onSave: (list) => {
        tags.value = list.join(", ");
        showChips();
      } }) } });
    const notes = h("textarea", { rows: "5", maxlength: "4096", test: "contact-notes", value: contact.notes || "" });
    const status = h("p", { class: "form-error", role: "alert", hidden: true });
    const save = h("button", { type: "submit", class: "btn btn-primary", test: "contact-save", text: t("common.save") });
    // No marketing for a customer who said so (on WhatsApp, by keyword, or to the team).
    const optOut = contact.marketing_opt_out;
    const noMarketing = checkbox(t("contact.opt_out"), { checked: !!optOut, test: "contact-opt-out" });
    const form = h("form", { class: "contact-form", novalidate: true },
      field(t("contact.name"), name, { name: "name", hint: contact.profile_name ? t("contact.profile_name", { name: contact.profile_name }) : null }),
      field(t("contact.tags"), tags, { name: "tags", hint: t("contact.tags_hint") }),
      h("div", { class: "label-row" }, chips, pick),
      field(t("contact.notes"), notes, { name: "notes" }),
      h("div", { class: "field", dataset: { field: "marketing_opt_out" } }, noMarketing,
        optOut ? h("span", { class: "field-hint", test: "contact-opt-out-since", text: t("contact.opt_out_since", { when: dateTime(optOut.at), how: t("contact.opt_out_source." + optOut.source) }) }) : null),
      status,
      save);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      status.hidden = true;
      save.disabled = true;
      const change = {
        name: name.value.trim() || null,
        notes: notes.value.trim() ? notes.value : null,
        tags: tags.value.split(",").map((x) => x.trim()).filter(Boolean),
        marketing_opt_out: noMarketing.input.checked,
      };
      try {
        await api.patch(`/contacts/${encodeURIComponent(key)}`, change);
        toast(t("contact.saved"), "success");
      } catch (err) {
        status.textContent = showFieldErrors(form, err) || "";
        status.hidden = !status.textContent;
      } finally {
        save.disabled = false;
      }
    });

    const pastChats = history.filter((c) => c.id !== chat.id);
    body.replaceChildren(
      h("div", { class: "contact-hero" },
        avatar(contactName(contact), contact.wa_id || contact.user_id, "large"),
        h("h3", { test: "contact-display-name", text: contactName(contact) }),
        h("p", { class: "muted", test: "contact-number", text: contactHandle(contact) })),
      h("section", { class: "panel-section" }, h("h4", { text: t("contact.this_chat") }), chatInfo()),
      h("section", { class: "panel-section" }, form),
      h("section", { class: "panel-section" },
        h("h4", { text: t("contact.history") }),
        pastChats.length
          ? h("ul", { class: "history-list" }, pastChats.map((c) => h("li", null,
            h("button", { type: "button", class: "history-row", test: "contact-history-chat", on: { click: () => onOpenChat(c.id) } },
              h("span", { class: "history-top" },
                h("span", { class: `chip chip-${c.status}`, text: t("status." + c.status) }),
                h("span", { class: "muted", text: dateTime(c.created_at) })),
              c.last_message ? h("span", { class: "history-preview", text: previewText(c.last_message.preview) }) : null,
              c.close_note ? h("span", { class: "history-note", text: t("contact.close_note", { note: c.close_note }) }) : null))))
          : h("p", { class: "muted", text: t("contact.no_history") })));
  }

  load();
  return { el, destroy() {} };
}
