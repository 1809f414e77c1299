// Admin: integrations — API tokens (shown once, scoped, revocable) and outgoing webhooks
// (signed deliveries, their log, redeliver, pause and resume).

import { h } from "../dom.js";
import { t, has } from "../i18n.js";
import * as api from "../api.js";
import { dateTime } from "../format.js";
import { field, checkbox, dialog, formDialog, confirmDialog, toast, errorText, empty } from "./ui.js";

const SCOPES = ["chats:read", "chats:write", "messages:send", "contacts:read", "contacts:write", "campaigns", "admin"];
const EVENTS = ["message.created", "message.updated", "chat.created", "chat.assigned", "chat.updated", "chat.closed", "contact.updated", "csat.answered"];

/** A secret shown this once, with a copy button. */
function showSecret(title, intro, secret, test) {
  const input = h("input", { type: "text", readonly: true, value: secret, class: "secret-value", test });
  const copy = h("button", { type: "button", class: "btn btn-small", text: t("integrations.copy"),
    on: { click: async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(secret);
        toast(t("integrations.copied"), "success");
      } catch {
        document.execCommand("copy");
      }
    } } });
  dialog({
    title,
    test: "secret-dialog",
    body: [h("p", { text: intro }), h("div", { class: "secret-row" }, input, copy)],
    actions: [{ label: t("common.close"), kind: "primary", test: "secret-done" }],
  });
  input.select();
}

function tokensPart() {
  const tbody = h("tbody");
  const el = h("div", { class: "admin-part", test: "tokens-part" },
    h("div", { class: "section-head" },
      h("h3", { text: t("tokens.title") }),
      h("button", { type: "button", class: "btn btn-primary", test: "token-create", text: t("tokens.create"), on: { click: create } })),
    h("p", { class: "muted", text: t("tokens.intro") }),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "tokens-table" },
        h("thead", null, h("tr", null,
          ["tokens.name", "tokens.scopes", "tokens.created", "tokens.last_used", "queues.actions"].map((key) => h("th", { scope: "col", text: t(key) })))),
        tbody)));

  function render(tokens) {
    if (!tokens.length) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "5", class: "muted", test: "tokens-empty", text: t("tokens.none") })));
      return;
    }
    tbody.replaceChildren(...tokens.map((tok) => h("tr", { test: "token-row", dataset: { tokenId: tok.id } },
      h("td", null, h("strong", { text: tok.name }), h("br"), h("code", { class: "muted", text: tok.hint })),
      h("td", null, tok.scopes.map((s) => h("span", { class: "chip", text: s })), tok.bot ? h("span", { class: "chip chip-bot", text: t("tokens.is_bot") }) : null),
      h("td", { text: dateTime(tok.created_at) }),
      h("td", { test: "token-last-used", text: tok.last_used_at ? dateTime(tok.last_used_at) : t("tokens.never") }),
      h("td", { class: "cell-actions" },
        h("button", { type: "button", class: "btn btn-small", test: "token-bot", text: tok.bot ? t("tokens.bot_edit") : t("tokens.make_bot"), on: { click: () => editBot(tok) } }),
        h("button", { type: "button", class: "btn btn-small btn-danger-outline", test: "token-revoke", text: t("tokens.revoke"), on: { click: () => revoke(tok) } })))));
  }

  /** A bot: which numbers' new chats and which queues' chats it answers first, how long
   * it may stay silent, and where its chats go then. */
  async function editBot(tok) {
    let numbers = [];
    let queues = [];
    try {
      [numbers, queues] = await Promise.all([api.get("/numbers"), api.get("/queues")]).then((pages) => pages.map((p) => p.items));
    } catch (err) {
      toast(errorText(err), "error");
      return;
    }
    const bot = tok.bot || { numbers: [], queues: [], timeout_seconds: 300, fallback_queue_id: null };
    const numberBoxes = numbers.map((n) => checkbox(n.name, { checked: bot.numbers.includes(n.id), name: n.id, test: "bot-number" }));
    const queueBoxes = queues.map((q) => checkbox(q.name, { checked: bot.queues.includes(q.id), name: q.id, test: "bot-queue" }));
    const timeout = h("input", { type: "number", min: "1", max: "86400", value: String(bot.timeout_seconds || 300), test: "bot-timeout" });
    const fallback = h("select", { test: "bot-fallback" },
      h("option", { value: "", text: t("tokens.bot_no_queue") }),
      queues.map((q) => h("option", { value: q.id, text: q.name, selected: q.id === bot.fallback_queue_id })));
    const enabled = checkbox(t("tokens.bot_enabled"), { checked: !!tok.bot, test: "bot-enabled" });
    formDialog({
      title: t("tokens.bot_title", { name: tok.name }),
      test: "bot-dialog",
      submitTest: "bot-save",
      fields: [
        h("p", { class: "muted", text: t("tokens.bot_intro") }),
        enabled,
        h("div", { class: "field", dataset: { field: "bot.numbers" } },
          h("span", { class: "field-label", text: t("tokens.bot_numbers") }), h("div", { class: "check-list" }, numberBoxes)),
        h("div", { class: "field", dataset: { field: "bot.queues" } },
          h("span", { class: "field-label", text: t("tokens.bot_queues") }), h("div", { class: "check-list" }, queueBoxes)),
        field(t("tokens.bot_timeout"), timeout, { name: "bot.timeout_seconds" }),
        field(t("tokens.bot_fallback"), fallback, { name: "bot.fallback_queue_id" }),
      ],
      onSubmit: async () => {
        const rules = enabled.input.checked ? {
          numbers: numberBoxes.filter((b) => b.input.checked).map((b) => b.input.name),
          queues: queueBoxes.filter((b) => b.input.checked).map((b) => b.input.name),
          timeout_seconds: Number(timeout.value) || 300,
          fallback_queue_id: fallback.value || null,
        } : null;
        await api.patch(`/tokens/${encodeURIComponent(tok.id)}`, { bot: rules });
        toast(t("tokens.bot_saved"), "success");
        load();
      },
    });
  }

  async function load() {
    try {
      render((await api.get("/tokens")).items);
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "5", class: "form-error", text: errorText(err) })));
    }
  }

  function create() {
    const name = h("input", { type: "text", maxlength: "60", test: "token-name" });
    const boxes = SCOPES.map((scope) => checkbox(`${scope} — ${t("tokens.scope." + scope)}`, { test: `token-scope-${scope.replace(/\W/g, "-")}`, name: scope }));
    formDialog({
      title: t("tokens.create"),
      test: "token-dialog",
      submitTest: "token-save",
      fields: [
        field(t("tokens.name"), name, { name: "name", hint: t("tokens.name_hint") }),
        h("div", { class: "field", dataset: { field: "scopes" } },
          h("span", { class: "field-label", text: t("tokens.scopes") }),
          h("div", { class: "check-list" }, boxes)),
      ],
      onSubmit: async () => {
        const scopes = boxes.filter((b) => b.input.checked).map((b) => b.input.name);
        const made = await api.post("/tokens", { name: name.value.trim(), scopes });
        load();
        showSecret(t("tokens.created_title"), t("tokens.created_intro"), made.token, "token-secret");
      },
    });
    name.focus();
  }

  async function revoke(tok) {
    const ok = await confirmDialog({ title: t("tokens.revoke"), message: t("tokens.revoke_confirm", { name: tok.name }), confirmLabel: t("tokens.revoke"), danger: true });
    if (!ok) return;
    try {
      await api.del(`/tokens/${encodeURIComponent(tok.id)}`);
      toast(t("tokens.revoked"), "success");
      load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  load();
  return el;
}

function webhooksPart() {
  const tbody = h("tbody");
  const el = h("div", { class: "admin-part", test: "webhooks-part" },
    h("div", { class: "section-head" },
      h("h3", { text: t("webhooks.title") }),
      h("button", { type: "button", class: "btn btn-primary", test: "webhook-create", text: t("webhooks.create"), on: { click: () => edit(null) } })),
    h("p", { class: "muted", text: t("webhooks.intro") }),
    h("div", { class: "table-wrap" },
      h("table", { class: "table", test: "webhooks-table" },
        h("thead", null, h("tr", null,
          ["webhooks.url", "webhooks.events", "webhooks.state", "queues.actions"].map((key) => h("th", { scope: "col", text: t(key) })))),
        tbody)));

  function stateText(s) {
    if (s.active) return s.failing_since ? t("webhooks.failing_since", { when: dateTime(s.failing_since) }) : t("webhooks.active");
    return s.paused_reason ? t("webhooks.paused") : t("webhooks.off");
  }

  function render(subs) {
    if (!subs.length) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "4", class: "muted", test: "webhooks-empty", text: t("webhooks.none") })));
      return;
    }
    tbody.replaceChildren(...subs.map((s) => h("tr", { test: "webhook-row", dataset: { webhookId: s.id } },
      h("td", null, h("code", { text: s.url }), s.description ? h("div", { class: "muted", text: s.description }) : null),
      h("td", { text: s.events.includes("*") ? t("webhooks.all_events") : s.events.join(", ") }),
      h("td", { test: "webhook-state", class: !s.active && s.paused_reason ? "form-error" : null },
        stateText(s), s.pending ? h("div", { class: "muted", text: t("webhooks.pending", { n: s.pending }) }) : null),
      h("td", { class: "cell-actions" },
        h("button", { type: "button", class: "btn btn-small", test: "webhook-deliveries", text: t("webhooks.deliveries"), on: { click: () => deliveries(s) } }),
        h("button", { type: "button", class: "btn btn-small", test: "webhook-toggle", text: s.active ? t("webhooks.turn_off") : t("webhooks.resume"), on: { click: () => toggle(s) } }),
        h("button", { type: "button", class: "btn btn-small", test: "webhook-edit", text: t("common.edit"), on: { click: () => edit(s) } }),
        h("button", { type: "button", class: "btn btn-small btn-danger-outline", test: "webhook-delete", text: t("common.delete"), on: { click: () => remove(s) } })))));
  }

  async function load() {
    try {
      render((await api.get("/integrations/webhooks")).items);
    } catch (err) {
      tbody.replaceChildren(h("tr", null, h("td", { colspan: "4", class: "form-error", text: errorText(err) })));
    }
  }

  async function edit(sub) {
    const creating = !sub;
    let bots = [];
    if (creating) {
      try {
        bots = (await api.get("/tokens")).items.filter((tok) => tok.bot);
      } catch {
        bots = [];
      }
    }
    const bot = h("select", { test: "webhook-bot" },
      h("option", { value: "", text: t("webhooks.no_bot") }),
      bots.map((b) => h("option", { value: b.id, text: b.name })));
    const url = h("input", { type: "url", maxlength: "2000", value: sub ? sub.url : "", placeholder: "https://", test: "webhook-url" });
    const description = h("input", { type: "text", maxlength: "200", value: sub && sub.description ? sub.description : "", test: "webhook-description" });
    const all = checkbox(t("webhooks.all_events"), { checked: creating || sub.events.includes("*"), test: "webhook-event-all" });
    const boxes = EVENTS.map((e) => checkbox(e, { checked: !!sub && sub.events.includes(e), test: `webhook-event-${e.replace(/\W/g, "-")}`, name: e }));
    const rotate = checkbox(t("webhooks.rotate"), { test: "webhook-rotate" });
    formDialog({
      title: creating ? t("webhooks.create") : t("webhooks.edit"),
      test: "webhook-dialog",
      submitTest: "webhook-save",
      fields: [
        field(t("webhooks.url"), url, { name: "url", hint: t("webhooks.url_hint") }),
        field(t("webhooks.description"), description, { name: "description" }),
        h("div", { class: "field", dataset: { field: "events" } },
          h("span", { class: "field-label", text: t("webhooks.events") }),
          h("div", { class: "check-list" }, all, boxes)),
        creating && bots.length ? field(t("webhooks.bot"), bot, { name: "bot_id" }) : null,
        creating ? null : rotate,
      ],
      onSubmit: async () => {
        const events = all.input.checked ? ["*"] : boxes.filter((b) => b.input.checked).map((b) => b.input.name);
        const body = { url: url.value.trim(), events, description: description.value.trim() || null };
        const saved = creating
          ? await api.post("/integrations/webhooks", { ...body, bot_id: bot.value || null })
          : await api.patch(`/integrations/webhooks/${encodeURIComponent(sub.id)}`, { ...body, rotate_secret: rotate.input.checked });
        load();
        if (saved.secret) showSecret(t("webhooks.secret_title"), t("webhooks.secret_intro"), saved.secret, "webhook-secret");
        else toast(t("webhooks.saved"), "success");
      },
    });
    url.focus();
  }

  async function toggle(sub) {
    try {
      await api.patch(`/integrations/webhooks/${encodeURIComponent(sub.id)}`, { active: !sub.active });
      load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  async function remove(sub) {
    const ok = await confirmDialog({ title: t("common.delete"), message: t("webhooks.delete_confirm", { url: sub.url }), confirmLabel: t("common.delete"), danger: true });
    if (!ok) return;
    try {
      await api.del(`/integrations/webhooks/${encodeURIComponent(sub.id)}`);
      toast(t("webhooks.deleted"), "success");
      load();
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  function deliveries(sub) {
    const list = h("div", { class: "delivery-list", test: "delivery-list" });
    const base = `/integrations/webhooks/${encodeURIComponent(sub.id)}/deliveries`;
    const row = (d) => {
      const last = d.log[0];
      const redeliver = h("button", { type: "button", class: "btn btn-small", test: "delivery-redeliver", text: t("webhooks.redeliver"),
        on: { click: async () => {
          redeliver.disabled = true;
          try {
            await api.post(`${base}/${encodeURIComponent(d.id)}/redeliver`);
            toast(t("webhooks.redelivering"), "success");
            setTimeout(refresh, 1000);
          } catch (err) {
            toast(errorText(err), "error");
          } finally {
            redeliver.disabled = false;
          }
        } } });
      const stateLabel = has("webhooks.delivery." + d.state) ? t("webhooks.delivery." + d.state) : d.state;
      return h("article", { class: "delivery", test: "delivery", dataset: { state: d.state } },
        h("header", { class: "section-head" },
          h("strong", { text: d.event }),
          h("span", { class: ["chip", d.state === "failed" && "chip-danger"], test: "delivery-state", text: stateLabel }),
          h("span", { class: "muted", text: `${dateTime(d.created_at)} · ${t("webhooks.attempts", { n: d.attempts })}` }),
          redeliver),
        last ? h("p", { class: "muted", test: "delivery-last",
          text: `${last.status === null ? t("webhooks.no_answer") : "HTTP " + last.status} · ${last.latency_ms} ms · ${last.response_excerpt}` }) : null,
        d.state === "pending" && d.next_attempt_at ? h("p", { class: "muted", text: t("webhooks.next_attempt", { when: dateTime(d.next_attempt_at) }) }) : null,
        h("details", null,
          h("summary", { text: `${t("webhooks.payload")} · ${d.id}` }),
          h("pre", { class: "raw-json", text: JSON.stringify(d.payload, null, 2) })));
    };
    async function refresh() {
      try {
        const page = await api.get(`${base}?limit=100`);
        list.replaceChildren(...(page.items.length ? page.items.map(row) : [empty(t("webhooks.no_deliveries"), "deliveries-empty")]));
      } catch (err) {
        list.replaceChildren(h("p", { class: "form-error", text: errorText(err) }));
      }
    }
    dialog({ title: t("webhooks.deliveries_of", { url: sub.url }), test: "deliveries-dialog", wide: true, body: list,
      actions: [{ label: t("webhooks.refresh"), test: "deliveries-refresh", onClick: () => { refresh(); return false; } }, { label: t("common.close"), kind: "primary" }] });
    refresh();
  }

  load();
  return el;
}

export function createIntegrationsSection() {
  const el = h("section", { class: "admin-section", test: "admin-integrations-section" },
    h("div", { class: "section-head" }, h("h2", { text: t("integrations.title") })),
    h("p", { class: "muted", text: t("integrations.intro") }),
    tokensPart(),
    webhooksPart());
  return { el, destroy() {} };
}
