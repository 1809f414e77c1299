// The right pane: one conversation with its header and actions, the messages (paged back
// on scroll to the top, live from events), typing/viewing banners and the composer.

import { h, icon, avatar, perFrame, replace } from "../dom.js";
import { t, has } from "../i18n.js";
import * as api from "../api.js";
import { state, on, isStaff, upsertChat, windowOpen, windowClosesSoon, userName, queueById, numberName } from "../state.js";
import { contactName, contactHandle, dateTime } from "../format.js";
import { releaseMedia } from "../media.js";
import { QUICK_REACTIONS, summary } from "./message.js";
import { createMessageList } from "./message-list.js";
import { createComposer } from "./composer.js";
import { createContactPanel } from "./contact-panel.js";
import { claim, reopen, closeChat, transferChat, templatePicker, templateBody, attachmentPreview, loadTemplates, snoozeChat, unsnoozeChat, scheduleMessage, forwardMessage } from "./actions.js";
import { visible } from "./chat-list.js";
import { toast, errorText } from "./ui.js";
import { uuid } from "../util.js";
import { pickLabels, labelChip } from "./labels.js";

const TYPING_EVERY = 2000;

/** options: {chatId, socket, onBack, onOpenChat(id)} -> {el, destroy} */
export function createConversation({ chatId, socket, onBack, onOpenChat }) {
  const me = state.user;
  let chat = state.chats.get(chatId) || null;
  let composer = null;
  let composerMode = null;
  let panel = null;
  let lastTyping = 0;
  let readInFlight = false;

  // ---- skeleton ----
  const title = h("h2", { class: "conv-name", test: "conv-name" });
  const subtitle = h("p", { class: "conv-sub", test: "conv-sub" });
  const headLabels = h("span", { class: "conv-labels", test: "conv-labels" });
  const headActions = h("div", { class: "conv-actions" });
  const headAvatar = h("span", { class: "conv-avatar" });
  // Search inside the conversation: the matches, newest first, next and previous.
  const findInput = h("input", { type: "search", class: "find-input", test: "find-input", placeholder: t("find.placeholder"), "aria-label": t("find.placeholder") });
  const findCount = h("span", { class: "find-count", test: "find-count", "aria-live": "polite" });
  let found = [];
  let foundIndex = -1;
  async function showFound(index) {
    if (!found.length) return;
    foundIndex = (index + found.length) % found.length;
    findCount.textContent = t("find.count", { n: foundIndex + 1, total: found.length });
    await messages.reveal(found[foundIndex]);
  }
  const findBar = h("div", { class: "find-bar", test: "find-bar", hidden: true },
    icon("search"), findInput, findCount,
    h("button", { type: "button", class: "icon-btn", test: "find-previous", "aria-label": t("find.previous"), title: t("find.previous"),
      on: { click: () => showFound(foundIndex - 1) } }, icon("down", "flip")),
    h("button", { type: "button", class: "icon-btn", test: "find-next", "aria-label": t("find.next"), title: t("find.next"),
      on: { click: () => showFound(foundIndex + 1) } }, icon("down")),
    h("button", { type: "button", class: "icon-btn", test: "find-close", "aria-label": t("common.close"),
      on: { click: () => {
        findBar.hidden = true;
        findInput.value = "";
        findCount.textContent = "";
        found = [];
      } } }, icon("close")));
  let findTimer = null;
  findInput.addEventListener("input", () => {
    clearTimeout(findTimer);
    findTimer = setTimeout(async () => {
      const q = findInput.value.trim();
      if (!q) {
        found = [];
        findCount.textContent = "";
        return;
      }
      try {
        const page = await api.get(`/chats/${chatId}/messages` + api.query({ q }));
        if (findInput.value.trim() !== q) return;
        found = page.items.map((m) => m.id);
        if (!found.length) findCount.textContent = t("find.none");
        else showFound(found.length - 1);
      } catch (err) {
        toast(errorText(err), "error");
      }
    }, 250);
  });
  findInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      showFound(foundIndex + (e.shiftKey ? 1 : -1));
    }
  });
  const findButton = h("button", { type: "button", class: "icon-btn", test: "find-open", "aria-label": t("find.open"), title: t("find.open"),
    on: { click: () => {
      findBar.hidden = !findBar.hidden;
      if (!findBar.hidden) findInput.focus();
    } } }, icon("search"));
  const header = h("header", { class: "pane-head conv-head" },
    h("button", { type: "button", class: "icon-btn back-btn", test: "back", "aria-label": t("common.back"), on: { click: onBack } }, icon("back")),
    h("button", { type: "button", class: "conv-who", test: "contact-info", "aria-label": t("contact.open"), on: { click: togglePanel } },
      headAvatar, h("span", { class: "conv-titles" }, h("span", { class: "conv-title-row" }, title, headLabels), subtitle)),
    findButton,
    headActions);
  const viewingBanner = h("div", { class: "conv-banner viewing", test: "viewing-banner", role: "status", hidden: true });
  const messages = createMessageList({
    chatId,
    ctx: {
      get contactName() {
        return chat ? contactName(chat.contact) : "";
      },
      get canReply() {
        return composerMode === "open";
      },
      showAuthors: true,
      me: me.id,
      onReply: (m) => composer && composer.setReply(m),
      onReactMenu: reactMenu,
      onRetry: (m) => sendBody(m.body, null, m),
      onForward: (m) => forwardMessage(chat, m),
      onPin: async (m, pinned) => {
        try {
          messages.replace(await api.patch(`/chats/${chatId}/messages/${m.id}`, { pinned }));
          loadPinned();
        } catch (err) {
          toast(errorText(err), "error");
        }
      },
      onZoom: zoom,
      templateBody,
    },
  });
  const list = messages.list;
  const footer = h("footer", { class: "conv-footer" });
  const scheduledStrip = h("div", { class: "scheduled-strip", test: "scheduled-strip", hidden: true });
  const pinnedStrip = h("div", { class: "pinned-strip", test: "pinned-strip", hidden: true });
  const main = h("div", { class: "conv-main" }, header, findBar, pinnedStrip, viewingBanner, messages.el, scheduledStrip, footer);
  const el = h("section", { class: "conversation", test: "conversation", dataset: { chatId }, "aria-label": t("conv.label") }, main);

  // ---- header ----
  function renderHeader() {
    if (!chat) return;
    const name = contactName(chat.contact);
    title.textContent = name;
    headLabels.replaceChildren(...(chat.tags || []).map(labelChip));
    headAvatar.replaceChildren(avatar(name, chat.contact.wa_id || chat.contact.user_id));
    renderSubtitle();
    const mine = chat.assignee_id === me.id;
    const canAct = mine || isStaff();
    const buttons = [];
    if (chat.status === "pending" || (chat.status === "bot" && isStaff())) {
      buttons.push(h("button", { type: "button", class: "btn btn-primary", test: "claim", text: t("chat.claim"), on: { click: () => claim(chat) } }));
    }
    if (canAct) {
      buttons.push(h("button", { type: "button", class: "btn", test: "chat-labels", text: t("labels.button"),
        on: { click: () => pickLabels({
          title: t("labels.pick_title"),
          current: chat.tags,
          onSave: async (tags) => {
            try {
              upsertChat(await api.patch(`/chats/${chat.id}`, { tags }), "updated");
            } catch (err) {
              throw new Error(errorText(err));
            }
          },
        }) } }));
    }
    if (chat.status !== "closed" && canAct) {
      buttons.push(h("button", { type: "button", class: "btn", test: "transfer", text: t("chat.transfer"), on: { click: () => transferChat(chat) } }));
    }
    if (chat.status === "open" && canAct) {
      buttons.push(chat.snoozed
        ? h("button", { type: "button", class: "btn", test: "unsnooze", text: t("snooze.back"), on: { click: () => unsnoozeChat(chat) } })
        : h("button", { type: "button", class: "btn", test: "snooze", text: t("snooze.button"), on: { click: () => snoozeChat(chat) } }));
      buttons.push(h("button", { type: "button", class: "btn", test: "schedule", text: t("schedule.button"), on: { click: () => scheduleMessage(chat, loadScheduled) } }));
      buttons.push(h("button", { type: "button", class: "btn btn-danger-outline", test: "close-chat", text: t("chat.close"), on: { click: () => closeChat(chat) } }));
    }
    if (chat.status === "closed") {
      buttons.push(h("button", { type: "button", class: "btn", test: "reopen", text: t("chat.reopen"), on: { click: () => reopen(chat) } }));
    }
    headActions.replaceChildren(...buttons);
  }

  function typingNames() {
    const map = state.typing.get(chatId);
    if (!map) return [];
    const now = Date.now();
    return [...map.entries()].filter(([id, v]) => id !== me.id && v.until > now).map(([, v]) => v.name);
  }

  function renderSubtitle() {
    if (!chat) return;
    const typing = typingNames();
    subtitle.classList.toggle("typing", typing.length > 0);
    if (typing.length) {
      subtitle.dataset.testid = "typing-banner";
      subtitle.textContent = t("conv.typing", { names: typing.join(", "), count: typing.length });
      return;
    }
    subtitle.dataset.testid = "conv-sub";
    const parts = [contactHandle(chat.contact), t("status." + chat.status)];
    if (chat.assignee_id && chat.status !== "pending") {
      const who = chat.assignee_id === me.id ? t("conv.you") : userName(chat.assignee_id);
      if (who) parts.push(t("conv.with", { name: who }));
    }
    const queue = chat.queue_id ? queueById(chat.queue_id) : null;
    if (queue) parts.push(queue.name);
    if (state.numbers.length > 1) parts.push(numberName(chat.phone_number_id));
    if (chat.snoozed) parts.push(chat.snoozed_until ? t("snooze.until", { when: dateTime(chat.snoozed_until) }) : t("snooze.until_reply_short"));
    const closing = windowClosesSoon(chat);
    if (closing !== null) parts.push(t("conv.window_closing", { minutes: closing }));
    subtitle.classList.toggle("warning", closing !== null);
    subtitle.textContent = parts.filter(Boolean).join(" · ");
  }

  function renderViewing() {
    const map = state.viewing.get(chatId);
    const names = map ? [...map.entries()].filter(([id]) => id !== me.id).map(([, name]) => name) : [];
    viewingBanner.hidden = names.length === 0;
    viewingBanner.textContent = names.length ? t("conv.viewing", { names: names.join(", "), count: names.length }) : "";
  }

  // ---- footer / composer ----
  function mode() {
    if (chat.status === "closed") return "closed";
    if (chat.status === "pending") return "pending";
    if (chat.status === "bot") return "bot";
    if (chat.assignee_id !== me.id && !isStaff()) return "readonly";
    if (!windowOpen(chat)) return "window";
    return "open";
  }

  function renderFooter(force) {
    if (!chat) return;
    const next = mode();
    if (next === composerMode && !force) return;
    const changed = composerMode !== null && composerMode !== next;
    composerMode = next;
    if (composer && composer.destroy) composer.destroy();
    composer = null;
    // Reply and reaction buttons depend on the mode.
    if (changed) messages.rerenderAll();
    if (next === "closed") {
      footer.replaceChildren(h("div", { class: "footer-notice", test: "closed-notice" },
        h("span", { text: chat.closed_at ? t("conv.closed_at", { when: dateTime(chat.closed_at) }) : t("conv.closed") }),
        chat.close_note ? h("span", { class: "muted", text: t("contact.close_note", { note: chat.close_note }) }) : null,
        h("button", { type: "button", class: "btn btn-primary", test: "reopen-footer", text: t("chat.reopen"), on: { click: () => reopen(chat) } })));
      return;
    }
    if (next === "pending") {
      footer.replaceChildren(h("div", { class: "footer-notice", test: "pending-notice" },
        h("span", { text: t("conv.pending") }),
        h("button", { type: "button", class: "btn btn-primary", test: "claim-footer", text: t("chat.claim"), on: { click: () => claim(chat) } })));
      return;
    }
    if (next === "bot") {
      // A supervisor may take the chat from the bot ("Assumir"); the bot's reply stops.
      footer.replaceChildren(h("div", { class: "footer-notice", test: "bot-notice" },
        h("span", { text: t("conv.bot") }),
        isStaff() ? h("button", { type: "button", class: "btn btn-primary", test: "claim-footer", text: t("chat.claim"), on: { click: () => claim(chat) } }) : null));
      return;
    }
    if (next === "readonly") {
      footer.replaceChildren(h("div", { class: "footer-notice", text: t("conv.readonly") }));
      return;
    }
    const windowClosed = next === "window";
    composer = createComposer({
      chatId,
      noteOnly: windowClosed,
      onSend: sendText,
      onNote: sendNote,
      onFile: (file) => attachmentPreview(file, sendFile),
      onVoice: (file) => sendFile(file, null).catch((err) => toast(err.message || errorText(err), "error")),
      onVoiceError: (text) => toast(text, "error"),
      onTyping: typing,
      onTemplate: () => templatePicker(chat, sendBody),
    });
    replace(footer,
      windowClosed ? h("div", { class: "window-notice", test: "window-closed" },
        h("span", { text: t("conv.window_closed") }),
        h("button", { type: "button", class: "btn btn-primary", test: "template-footer", text: t("composer.template"),
          on: { click: () => templatePicker(chat, sendBody) } })) : null,
      composer.el);
  }

  // ---- sending ----
  async function sendBody(body, localFields, retrying) {
    const payload = { client_id: uuid(), ...body };
    let local = null;
    if (retrying) {
      // The same client_id again: the hub never sends a message twice.
      Object.assign(payload, retrying.body);
      local = { ...retrying, status: "queued", error: null, localError: false };
      messages.replace(local);
    } else if (localFields) {
      const now = new Date().toISOString();
      local = {
        id: "local-" + payload.client_id, local: true, client_id: payload.client_id, chat_id: chatId, direction: "out",
        type: payload.type, text: null, caption: null, media: null, reply_to: null, status: "queued", error: null,
        author_id: me.id, created_at: now, timestamp: now, body: { ...payload }, ...localFields,
      };
      messages.add(local);
    }
    try {
      const message = await api.post(`/chats/${chatId}/messages`, payload);
      messages.add(message);
      return message;
    } catch (err) {
      const text = err.code === "window_closed" ? t("conv.window_closed") : errorText(err);
      if (!local) throw new Error(text);
      const current = messages.get(local.id);
      if (current) {
        // Worth a retry when the network or the server failed, not when the request was refused.
        const retryable = err.status === 0 || err.status >= 500 || err.status === 429;
        messages.replace({ ...current, status: "failed", error: { title: text }, localError: retryable });
      }
      toast(text, "error");
      if (err.code === "window_closed") renderFooter(true);
      return null;
    }
  }

  function sendText(text, replyTo, buttons) {
    if (buttons && buttons.length) {
      const interactive = { kind: "buttons", body: text, buttons: buttons.map((title) => ({ title })) };
      const details = { interactive: { type: "button", body: { text }, action: { buttons: buttons.map((title) => ({ type: "reply", reply: { id: title.toLowerCase(), title } })) } } };
      return sendBody({ type: "interactive", interactive }, { text, details });
    }
    const body = { type: "text", text };
    if (replyTo) body.reply_to = replyTo.id;
    return sendBody(body, { text, reply_to: replyTo ? { message_id: replyTo.id } : null });
  }

  async function sendFile(file, caption) {
    const uploaded = await api.upload(file);
    const type = uploaded.kind || uploaded.type || "document";
    const body = { type, media_id: uploaded.id };
    if (caption && type !== "audio" && type !== "sticker") body.caption = caption;
    const sent = await sendBody(body, null);
    if (!sent) throw new Error(t("error.generic"));
  }

  async function sendNote(text) {
    try {
      const note = await api.post(`/chats/${chatId}/notes`, { text });
      messages.add(note);
    } catch (err) {
      toast(errorText(err), "error");
    }
  }

  function typing() {
    const now = Date.now();
    if (now - lastTyping < TYPING_EVERY) return;
    lastTyping = now;
    socket.send({ type: "typing", chat_id: chatId });
  }

  // ---- pinned messages ----
  async function loadPinned() {
    let items = [];
    try {
      items = (await api.get(`/chats/${chatId}/messages?pinned=true`)).items;
    } catch (err) {
      items = [];
    }
    pinnedStrip.hidden = !items.length;
    pinnedStrip.replaceChildren(...items.map((m) => h("button", { type: "button", class: "pinned-item", test: "pinned-item",
      on: { click: () => messages.reveal(m.id) } }, "📌 ", summary(m))));
  }

  // ---- scheduled messages ----
  async function loadScheduled() {
    let items = [];
    try {
      items = (await api.get(`/chats/${chatId}/scheduled`)).items;
    } catch (err) {
      items = [];
    }
    const pending = items.filter((m) => m.state === "pending");
    const failed = items.filter((m) => m.state === "failed").slice(-1);
    scheduledStrip.hidden = !pending.length && !failed.length;
    scheduledStrip.replaceChildren(
      ...pending.map((m) => h("div", { class: "scheduled-item", test: "scheduled-item" },
        h("span", { class: "scheduled-when", text: t("schedule.pending", { when: dateTime(m.send_at) }) }),
        h("span", { class: "scheduled-text", text: m.text }),
        h("button", { type: "button", class: "btn btn-small", test: "scheduled-cancel", text: t("common.cancel"),
          on: { click: async () => {
            try {
              await api.del(`/chats/${chatId}/scheduled/${m.id}`);
            } catch (err) {
              toast(errorText(err), "error");
            }
            loadScheduled();
          } } }))),
      ...failed.map((m) => h("div", { class: "scheduled-item failed", test: "scheduled-failed" },
        h("span", { text: t("schedule.failed", { reason: has("schedule.reason." + m.reason) ? t("schedule.reason." + m.reason) : m.reason }) }))));
  }

  // ---- reactions, zoom, panel ----
  function reactMenu(message, anchor) {
    const existing = document.querySelector(".react-menu");
    if (existing) existing.remove();
    const menu = h("div", { class: "react-menu", test: "react-menu", role: "menu" },
      QUICK_REACTIONS.map((emoji) => h("button", { type: "button", role: "menuitem", class: "react-pick", test: "react-pick", text: emoji,
        on: { click: () => {
          menu.remove();
          sendBody({ type: "reaction", reaction: { message_id: message.id, emoji } }, null).catch((err) => toast(err.message, "error"));
        } } })));
    anchor.closest(".msg").appendChild(menu);
    const away = (e) => {
      if (!menu.contains(e.target)) {
        menu.remove();
        document.removeEventListener("pointerdown", away, true);
      }
    };
    document.addEventListener("pointerdown", away, true);
    menu.querySelector("button").focus();
  }

  function zoom(url, alt) {
    const box = h("dialog", { class: "lightbox", test: "lightbox", "aria-label": alt },
      h("button", { type: "button", class: "icon-btn lightbox-close", "aria-label": t("common.close"), on: { click: () => box.close() } }, icon("close")),
      h("img", { src: url, alt }));
    box.addEventListener("click", (e) => {
      if (e.target === box) box.close();
    });
    box.addEventListener("close", () => box.remove());
    document.body.appendChild(box);
    box.showModal();
  }

  function togglePanel() {
    if (panel) {
      panel.el.remove();
      panel = null;
      el.classList.remove("with-panel");
      return;
    }
    if (!chat) return;
    panel = createContactPanel({ chat, onClose: togglePanel, onOpenChat });
    el.appendChild(panel.el);
    el.classList.add("with-panel");
  }

  // ---- drag and drop a file ----
  main.addEventListener("dragover", (e) => {
    if (composerMode === "open" && e.dataTransfer && [...e.dataTransfer.types].includes("Files")) {
      e.preventDefault();
      main.classList.add("dropping");
    }
  });
  main.addEventListener("dragleave", (e) => {
    if (e.target === main || !main.contains(e.relatedTarget)) main.classList.remove("dropping");
  });
  main.addEventListener("drop", (e) => {
    main.classList.remove("dropping");
    const file = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (file && composerMode === "open") {
      e.preventDefault();
      attachmentPreview(file, sendFile);
    }
  });

  // On touch screens there is no hover: a tap on a bubble shows its reply/react buttons.
  const touch = window.matchMedia("(hover: none)");
  list.addEventListener("click", (e) => {
    if (!touch.matches || e.target.closest("a, button, audio, video, img, input")) return;
    const row = e.target.closest(".msg");
    for (const other of list.querySelectorAll(".msg.show-actions")) if (other !== row) other.classList.remove("show-actions");
    if (row) row.classList.toggle("show-actions");
  });

  // Double-click a bubble to reply to it (the hover button does the same).
  list.addEventListener("dblclick", (e) => {
    const row = e.target.closest(".msg");
    if (!row || !composer || composerMode !== "open") return;
    const message = messages.get(row.dataset.messageId);
    if (message && !message.local && message.type !== "note") {
      window.getSelection && window.getSelection().removeAllRanges();
      composer.setReply(message);
    }
  });

  // ---- read receipts ----
  async function markRead() {
    if (!chat || readInFlight || chat.unread_count === 0 || chat.assignee_id !== me.id) return;
    if (document.visibilityState !== "visible") return;
    readInFlight = true;
    try {
      const updated = await api.post(`/chats/${chatId}/read`);
      upsertChat(updated, "read");
    } catch (err) {
      // Not fatal: the badge stays until the next try.
    } finally {
      readInFlight = false;
    }
  }
  const onVisible = () => markRead();
  document.addEventListener("visibilitychange", onVisible);

  // ---- live updates ----
  const refreshBanners = perFrame(() => {
    renderSubtitle();
    renderViewing();
  });
  const stops = [
    on("chat", ({ chat: updated }) => {
      if (updated.id !== chatId) return;
      const before = chat;
      chat = updated;
      if (!visible(chat)) {
        const taken = before && before.status === "pending" && chat.status === "open" && chat.assignee_id !== me.id;
        toast(taken ? t("chat.claim_conflict") : t("conv.no_longer_yours"), "info", 6000);
        onBack();
        return;
      }
      renderHeader();
      renderFooter();
      markRead();
    }),
    on("message", ({ message }) => {
      if (message.chat_id !== chatId) return;
      messages.add(message);
      if (message.direction === "in") markRead();
    }),
    on("typing", (id) => id === chatId && refreshBanners()),
    on("viewing", (id) => id === chatId && refreshBanners()),
    on("users", () => {
      renderHeader();
    }),
    on("resync", () => messages.load()),
    on("scheduled", (data) => data.chat_id === chatId && loadScheduled()),
  ];
  const ticker = setInterval(() => {
    if (!chat) return;
    renderSubtitle();
    renderFooter(); // the 24-hour window may close while the chat is open
  }, 1000);

  // ---- start ----
  async function start() {
    if (!chat) {
      try {
        chat = upsertChat(await api.get(`/chats/${chatId}`));
      } catch (err) {
        main.replaceChildren(
          h("header", { class: "pane-head conv-head" },
            h("button", { type: "button", class: "icon-btn back-btn", test: "back", "aria-label": t("common.back"), on: { click: onBack } }, icon("back"))),
          h("div", { class: "empty", test: "chat-not-found", text: err.status === 404 ? t("conv.not_found") : errorText(err) }));
        return;
      }
    }
    renderHeader();
    renderViewing();
    renderFooter();
    socket.send({ type: "viewing", chat_id: chatId });
    loadScheduled();
    loadPinned();
    await messages.load();
    markRead();
    if (composer) composer.focus();
    loadTemplates().then(() => {
      // Sent templates show their body once the list is known.
      if (messages.hasTemplates()) messages.rerenderAll();
    }).catch(() => {});
  }
  start();

  return {
    el,
    destroy() {
      if (composer && composer.destroy) composer.destroy();
      messages.destroy();
      stops.forEach((stop) => stop());
      clearInterval(ticker);
      document.removeEventListener("visibilitychange", onVisible);
      socket.send({ type: "viewing", chat_id: null });
      releaseMedia();
    },
  };
}
