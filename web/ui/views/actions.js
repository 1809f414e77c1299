// What people do to a chat: Assumir, Transferir, Finalizar, Reabrir; the template picker
// for a closed 24-hour window; the attachment preview before an upload.

import { h, icon } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { state, isStaff, upsertChat } from "../state.js";
import { fileSize, contactName } from "../format.js";
import { uuid } from "../util.js";
import { dialog, toast, field, errorText, showFieldErrors } from "./ui.js";

export async function claim(chat) {
  try {
    const updated = await api.post(`/chats/${chat.id}/claim`);
    upsertChat(updated, "claimed");
    toast(t("chat.claimed"), "success");
    return updated;
  } catch (err) {
    toast(errorText(err), "error", err.status === 409 ? 6000 : undefined);
    return null;
  }
}

export async function reopen(chat) {
  try {
    const updated = await api.post(`/chats/${chat.id}/reopen`);
    upsertChat(updated, "reopened");
    toast(t("chat.reopened"), "success");
  } catch (err) {
    toast(errorText(err), "error", 6000);
  }
}

export function closeChat(chat) {
  const note = h("textarea", { rows: "4", maxlength: "4096", test: "close-note", placeholder: t("close.note_placeholder") });
  dialog({
    title: t("close.title"),
    test: "close-dialog",
    body: [h("p", { class: "muted", text: t("close.explain") }), field(t("close.note"), note, { name: "note" })],
    actions: [
      { label: t("common.cancel"), test: "close-cancel" },
      {
        label: t("close.confirm"), kind: "danger", test: "close-confirm",
        onClick: async () => {
          const body = note.value.trim() ? { note: note.value.trim() } : {};
          try {
            const updated = await api.post(`/chats/${chat.id}/close`, body);
            upsertChat(updated, "closed");
            toast(t("chat.closed"), "success");
          } catch (err) {
            throw new Error(errorText(err));
          }
        },
      },
    ],
  });
  note.focus();
}

/** Transfer to an agent (staff can list users) or to a queue. */
export async function transferChat(chat) {
  const staff = isStaff();
  let users = [];
  let queues = state.queues;
  try {
    const [userPage, queuePage] = await Promise.all([
      staff ? api.get("/users?limit=200") : Promise.resolve({ items: [] }),
      api.get("/queues"),
    ]);
    users = userPage.items.filter((u) => u.active && u.id !== chat.assignee_id);
    queues = queuePage.items;
  } catch (err) {
    toast(errorText(err), "error");
    return;
  }
  const load = new Map();
  if (state.live && state.live.agents) for (const a of state.live.agents) load.set(a.user_id, a);
  const options = [];
  const group = "transfer-target";
  const agentItems = users.map((u) => {
    const live = load.get(u.id);
    const presence = (live && live.presence) || state.presence.get(u.id) || u.presence;
    const input = h("input", { type: "radio", name: group, value: "user:" + u.id, test: "transfer-user" });
    options.push(input);
    return h("label", { class: "pick-row" }, input,
      h("span", { class: ["presence-dot", `presence-${presence}`], "aria-hidden": "true" }),
      h("span", { class: "pick-main" },
        h("strong", { text: u.name }),
        h("span", { class: "muted", text: [t("presence." + presence), t("role." + u.role),
          live ? t("transfer.load", { open: live.open_chats, max: live.max_concurrent_chats }) : null].filter(Boolean).join(" · ") })));
  });
  const queueItems = queues.map((q) => {
    const input = h("input", { type: "radio", name: group, value: "queue:" + q.id, test: "transfer-queue" });
    options.push(input);
    const dot = h("span", { class: "queue-dot", "aria-hidden": "true" });
    dot.style.setProperty("--queue-color", q.color);
    return h("label", { class: "pick-row" }, input, dot, h("span", { class: "pick-main" }, h("strong", { text: q.name })));
  });
  const body = [];
  if (staff) {
    body.push(h("h3", { class: "pick-title", text: t("transfer.to_agent") }));
    body.push(agentItems.length ? h("div", { class: "pick-list" }, agentItems) : h("p", { class: "muted", text: t("transfer.no_agents") }));
  }
  body.push(h("h3", { class: "pick-title", text: t("transfer.to_queue") }));
  body.push(queueItems.length ? h("div", { class: "pick-list" }, queueItems) : h("p", { class: "muted", text: t("transfer.no_queues") }));
  dialog({
    title: t("transfer.title"),
    test: "transfer-dialog",
    body,
    actions: [
      { label: t("common.cancel"), test: "transfer-cancel" },
      {
        label: t("transfer.confirm"), kind: "primary", test: "transfer-confirm",
        onClick: async ({ error }) => {
          const picked = options.find((o) => o.checked);
          if (!picked) {
            error(t("transfer.pick"));
            return false;
          }
          const [kind, id] = picked.value.split(/:(.*)/s);
          try {
            const updated = await api.post(`/chats/${chat.id}/transfer`, kind === "user" ? { user_id: id } : { queue_id: id });
            upsertChat(updated, "transferred");
            toast(t("chat.transferred"), "success");
          } catch (err) {
            throw new Error(errorText(err));
          }
        },
      },
    ],
  });
}

function bodyText(template) {
  const body = (template.components || []).find((c) => String(c.type).toLowerCase() === "body");
  return body ? body.text || "" : "";
}

/** Templates' body text by name, for showing sent templates. */
export function templateBody(name) {
  const found = (state.templates || []).find((tpl) => tpl.name === name);
  return found ? bodyText(found) : null;
}

export async function loadTemplates() {
  if (state.templates) return state.templates;
  const page = await api.get("/templates");
  state.templates = page.items;
  return state.templates;
}

/** Picks an approved template, asks for its {{n}} parameters, sends it. */
export async function templatePicker(chat, send) {
  let templates;
  try {
    templates = await loadTemplates();
  } catch (err) {
    toast(errorText(err), "error");
    return;
  }
  const list = h("div", { class: "pick-list template-list" });
  const paramsBox = h("div", { class: "template-params" });
  const preview = h("p", { class: "template-preview", test: "template-preview" });
  let chosen = null;
  let inputs = [];

  function refreshPreview() {
    if (!chosen) return;
    preview.textContent = bodyText(chosen).replace(/\{\{(\d+)\}\}/g, (m, n) => inputs[Number(n) - 1]?.value || m);
  }

  function choose(tpl) {
    chosen = tpl;
    const count = Math.max(0, ...[...bodyText(tpl).matchAll(/\{\{(\d+)\}\}/g)].map((m) => Number(m[1])));
    const body = (tpl.components || []).find((c) => String(c.type).toLowerCase() === "body");
    const examples = (body && body.example && body.example.body_text && body.example.body_text[0]) || [];
    inputs = [];
    paramsBox.replaceChildren();
    for (let i = 1; i <= count; i++) {
      const input = h("input", { type: "text", test: "template-param", placeholder: examples[i - 1] || "", required: true });
      input.addEventListener("input", refreshPreview);
      inputs.push(input);
      paramsBox.appendChild(field(t("template.param", { n: i }), input, { name: `param${i}` }));
    }
    refreshPreview();
    if (inputs[0]) inputs[0].focus();
  }

  if (!templates.length) list.appendChild(h("p", { class: "muted", text: t("template.none") }));
  for (const tpl of templates) {
    const input = h("input", { type: "radio", name: "template", value: tpl.name, test: "template-option" });
    input.addEventListener("change", () => choose(tpl));
    list.appendChild(h("label", { class: "pick-row" }, input,
      h("span", { class: "pick-main" },
        h("strong", { text: tpl.name }),
        h("span", { class: "muted", text: [tpl.language, tpl.category].filter(Boolean).join(" · ") }),
        h("span", { class: "template-body", text: bodyText(tpl) }))));
  }

  dialog({
    title: t("template.title"),
    test: "template-dialog",
    wide: true,
    body: [h("p", { class: "muted", text: t("template.explain") }), list, paramsBox, preview],
    actions: [
      { label: t("common.cancel"), test: "template-cancel" },
      {
        label: t("template.send"), kind: "primary", test: "template-send",
        onClick: async ({ error }) => {
          if (!chosen) {
            error(t("template.pick"));
            return false;
          }
          if (inputs.some((i) => !i.value.trim())) {
            error(t("template.fill"));
            return false;
          }
          const template = { name: chosen.name, language: chosen.language || "pt_BR" };
          if (inputs.length) {
            template.components = [{ type: "body", parameters: inputs.map((i) => ({ type: "text", text: i.value.trim() })) }];
          }
          await send({ type: "template", template });
        },
      },
    ],
  });
}

/** Shows the picked file, asks for a caption, then calls send(file, caption). */
export function attachmentPreview(file, send) {
  const kind = file.type.startsWith("image/") ? "image" : file.type.startsWith("video/") ? "video" : file.type.startsWith("audio/") ? "audio" : "document";
  const url = kind === "document" ? null : URL.createObjectURL(file);
  let previewEl;
  if (kind === "image") previewEl = h("img", { src: url, alt: file.name, class: "attach-preview-media", test: "attach-preview-image" });
  else if (kind === "video") previewEl = h("video", { src: url, controls: true, class: "attach-preview-media" });
  else if (kind === "audio") previewEl = h("audio", { src: url, controls: true });
  else previewEl = h("div", { class: "doc-card" }, h("span", { class: "doc-icon" }, icon("doc")),
    h("span", { class: "doc-info" }, h("span", { class: "doc-name", text: file.name }), h("span", { class: "doc-meta", text: fileSize(file.size) })));
  const caption = h("input", { type: "text", maxlength: "1024", test: "attach-caption", placeholder: t("attach.caption_placeholder") });
  dialog({
    title: t("attach.title"),
    test: "attach-dialog",
    body: [
      h("div", { class: "attach-preview" }, previewEl),
      // A document's card already names it.
      kind === "document" ? null : h("p", { class: "muted", test: "attach-name", text: `${file.name} · ${fileSize(file.size)}` }),
      kind === "audio" ? null : field(t("attach.caption"), caption, { name: "caption" }),
    ],
    onClose: () => url && URL.revokeObjectURL(url),
    actions: [
      { label: t("common.cancel"), test: "attach-cancel" },
      {
        label: t("attach.send"), kind: "primary", test: "attach-send",
        onClick: async () => {
          try {
            await send(file, caption.value.trim());
          } catch (err) {
            if (err.status === 413) throw new Error(t("attach.too_large"));
            if (err.status === 415) throw new Error(t("attach.unsupported"));
            throw new Error(errorText(err));
          }
        },
      },
    ],
  });
  caption.focus();
}

/** A datetime-local value (the browser's local time) as the hub takes it, with offset. */
function localToIso(value) {
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? value : at.toISOString();
}

/** "Adiar": out of the agent's list for a while, or until the customer writes. */
export function snoozeChat(chat) {
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  tomorrow.setHours(9, 0, 0, 0);
  const choices = [
    ["hour", t("snooze.hour"), () => new Date(Date.now() + 3600 * 1000).toISOString()],
    ["tomorrow", t("snooze.tomorrow"), () => tomorrow.toISOString()],
    ["reply", t("snooze.until_reply"), () => null],
    ["custom", t("snooze.custom"), () => localToIso(custom.value)],
  ];
  const custom = h("input", { type: "datetime-local", test: "snooze-custom-at" });
  const radios = choices.map(([value, label], i) => h("label", { class: "check" },
    h("input", { type: "radio", name: "snooze", value, checked: i === 0, test: `snooze-${value}` }), h("span", { text: label })));
  dialog({
    title: t("snooze.title"),
    test: "snooze-dialog",
    body: [h("p", { class: "muted", text: t("snooze.explain") }), radios, custom],
    actions: [
      { label: t("common.cancel"), test: "snooze-cancel" },
      {
        label: t("snooze.confirm"), kind: "primary", test: "snooze-confirm",
        onClick: async () => {
          const picked = radios.map((r) => r.querySelector("input")).find((i) => i.checked);
          const choice = choices.find(([value]) => value === (picked ? picked.value : "hour"));
          try {
            const updated = await api.post(`/chats/${chat.id}/snooze`, { until: choice[2]() });
            upsertChat(updated, "snoozed");
            toast(t("snooze.done"), "success");
          } catch (err) {
            throw new Error(errorText(err));
          }
        },
      },
    ],
  });
}

export async function unsnoozeChat(chat) {
  try {
    const updated = await api.del(`/chats/${chat.id}/snooze`);
    upsertChat(updated, "woke");
  } catch (err) {
    toast(errorText(err), "error");
  }
}

/** "Agendar": a message for later, with a template for when the window has closed. */
export async function scheduleMessage(chat, onDone) {
  let templates = [];
  try {
    // Templates that take no parameters: nothing to fill in at send time.
    templates = (await loadTemplates()).filter((tpl) => !/\{\{\d+\}\}/.test(bodyText(tpl) || ""));
  } catch (err) {
    templates = [];
  }
  const text = h("textarea", { rows: "4", maxlength: "4096", test: "schedule-text" });
  const at = h("input", { type: "datetime-local", test: "schedule-at" });
  const template = h("select", { test: "schedule-template" },
    h("option", { value: "", text: t("schedule.no_template") }),
    templates.map((tpl, i) => h("option", { value: String(i), text: `${tpl.name} (${tpl.language})` })));
  const body = h("div", { class: "form-grid" },
    field(t("schedule.text"), text, { name: "text" }),
    field(t("schedule.at"), at, { name: "send_at" }),
    field(t("schedule.template"), template, { name: "template", hint: t("schedule.template_hint") }));
  dialog({
    title: t("schedule.title"),
    test: "schedule-dialog",
    wide: true,
    body,
    actions: [
      { label: t("common.cancel"), test: "schedule-cancel" },
      {
        label: t("schedule.confirm"), kind: "primary", test: "schedule-confirm",
        onClick: async ({ error }) => {
          const tpl = template.value ? templates[Number(template.value)] : null;
          try {
            await api.post(`/chats/${chat.id}/scheduled`, {
              text: text.value,
              send_at: at.value ? localToIso(at.value) : "",
              template: tpl ? { name: tpl.name, language: tpl.language } : undefined,
            });
            toast(t("schedule.done"), "success");
            if (onDone) onDone();
          } catch (err) {
            error(err.fields ? showFieldErrors(body, err) || t("admin.fix_fields") : errorText(err));
            return false;
          }
        },
      },
    ],
  });
  text.focus();
}

/** "Encaminhar": the message to another chat the user holds (staff: any open one). */
export function forwardMessage(from, message) {
  const me = state.user;
  const chats = [...state.chats.values()]
    .filter((c) => c.id !== from.id && c.status === "open" && (c.assignee_id === me.id || isStaff()))
    .sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
  const filter = h("input", { type: "search", test: "forward-filter", placeholder: t("forward.filter") });
  const list = h("div", { class: "forward-list", test: "forward-list" });
  let chosen = null;
  function render() {
    const q = filter.value.trim().toLowerCase();
    const shown = chats.filter((c) => !q || contactName(c.contact).toLowerCase().includes(q));
    list.replaceChildren(...(shown.length ? shown.map((c) => h("label", { class: "check forward-option" },
      h("input", { type: "radio", name: "forward-to", value: c.id, test: "forward-option", checked: chosen === c.id,
        on: { change: () => (chosen = c.id) } }),
      h("span", { text: contactName(c.contact) }))) : [h("p", { class: "muted", text: t("forward.none") })]));
  }
  filter.addEventListener("input", render);
  render();
  dialog({
    title: t("forward.title"),
    test: "forward-dialog",
    body: [filter, list],
    actions: [
      { label: t("common.cancel"), test: "forward-cancel" },
      {
        label: t("forward.confirm"), kind: "primary", test: "forward-confirm",
        onClick: async ({ error }) => {
          if (!chosen) {
            error(t("forward.pick"));
            return false;
          }
          try {
            await api.post(`/chats/${from.id}/messages/${message.id}/forward`, { to_chat_id: chosen, client_id: uuid() });
            toast(t("forward.done"), "success");
          } catch (err) {
            error(errorText(err));
            return false;
          }
        },
      },
    ],
  });
  filter.focus();
}
