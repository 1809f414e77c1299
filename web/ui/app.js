// Entry point of the console: sign-in, then the shell with hash routes
//   #/chats, #/chats/<id>, #/supervisor, #/admin/<users|queues|settings|canned>
// fed by the HTTP API and the realtime socket.

import * as api from "./api.js";
import { Socket } from "./socket.js";
import { t, onLangChange } from "./i18n.js";
import { state, emit, on, reset, upsertChat, isStaff, isAdmin, unreadChats } from "./state.js";
import { contactName, previewText } from "./format.js";
import { notify } from "./notify.js";
import { renderLogin, renderPasswordChange } from "./views/login.js";
import { createShell } from "./views/shell.js";
import { createChatsView } from "./views/chats-view.js";
import { loadTab } from "./views/chat-list.js";
import { toast } from "./views/ui.js";

const root = document.getElementById("app");
const PRESENCE_KEY = "atende.presence";

let socket = null;
let shell = null;
// Views get this stable handle; the socket behind it comes and goes with the session.
const live = { send: (frame) => socket && socket.send(frame) };
let view = null; // {name, instance}
let session = false;
const TYPING_SHOWN = 5000;

// ---------- routing ----------

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "supervisor" && isStaff()) return { name: "supervisor" };
  if (parts[0] === "admin" && isAdmin()) return { name: "admin", section: parts[1] || "users" };
  return { name: "chats", chatId: parts[0] === "chats" && parts[1] ? parts[1] : null };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  if (!session || !shell) return;
  const r = parseRoute();
  shell.setRoute(r.name);
  if (view && view.name === r.name) {
    if (r.name === "chats") view.instance.show(r.chatId);
    else if (r.name === "admin") view.instance.show(r.section);
    shell.setConversationOpen(r.name === "chats" && !!r.chatId);
    return;
  }
  if (view) view.instance.destroy();
  view = null;
  let instance;
  if (r.name === "supervisor") {
    const { createSupervisorView } = await import("./views/supervisor.js");
    instance = createSupervisorView({ navigate });
  } else if (r.name === "admin") {
    const { createAdminView } = await import("./views/admin.js");
    instance = createAdminView({ navigate });
    instance.show(r.section);
  } else {
    instance = createChatsView({ socket: live, navigate });
    instance.show(r.chatId);
  }
  // A later navigation may have won the race while the module loaded.
  if (parseRoute().name !== r.name || !session) {
    instance.destroy();
    if (session) route();
    return;
  }
  view = { name: r.name, instance };
  shell.content.replaceChildren(instance.el);
  shell.setConversationOpen(r.name === "chats" && !!r.chatId);
}

window.addEventListener("hashchange", route);

// ---------- title ----------

function updateTitle() {
  if (!session) {
    document.title = t("app.name");
    return;
  }
  const n = unreadChats();
  document.title = n ? `(${n}) ${t("app.name")}` : t("app.name");
}

// ---------- realtime ----------

function typingOrViewing(kind, data) {
  const map = kind === "typing" ? state.typing : state.viewing;
  if (!map.has(data.chat_id)) map.set(data.chat_id, new Map());
  const forChat = map.get(data.chat_id);
  const active = data.active !== false;
  if (kind === "typing") {
    if (active) forChat.set(data.user_id, { name: data.name || "", until: Date.now() + TYPING_SHOWN });
    else forChat.delete(data.user_id);
  } else if (active) {
    forChat.set(data.user_id, data.name || "");
  } else {
    forChat.delete(data.user_id);
  }
  emit(kind, data.chat_id);
  if (kind === "typing") setTimeout(() => emit("typing", data.chat_id), TYPING_SHOWN + 50);
}

/** New waiting chats whose alert waits for their first message. */
const newChatAlerts = new Set();

function wantsNewChatAlerts(chat) {
  if (state.user.role === "agent") return true;
  return !state.user.queue_ids.length || (chat.queue_id && state.user.queue_ids.includes(chat.queue_id));
}

function alertChat(chat, title) {
  notify({
    title,
    body: `${contactName(chat.contact)}${chat.last_message ? ": " + previewText(chat.last_message.preview) : ""}`,
    tag: "chat-" + chat.id,
    onClick: () => navigate(`#/chats/${chat.id}`),
  });
}

function onEvent(name, data) {
  switch (name) {
    case "chat.created":
    case "chat.updated": {
      const old = state.chats.get(data.id);
      const change = data.change || (name === "chat.created" ? "created" : "updated");
      const chat = upsertChat(data, change);
      if (name === "chat.created" && chat.status === "pending" && wantsNewChatAlerts(chat)) {
        // Told when its first message (with the customer's name) arrives, right after.
        newChatAlerts.add(chat.id);
      } else if ((change === "assigned" || change === "transferred") && chat.assignee_id === state.user.id &&
        (!old || old.assignee_id !== state.user.id)) {
        alertChat(chat, t("notify.assigned"));
      }
      break;
    }
    case "message.created":
    case "message.updated": {
      const message = { ...data };
      const chat = message.chat ? upsertChat(message.chat, "message") : state.chats.get(message.chat_id);
      delete message.chat;
      emit("message", { message, created: name === "message.created" });
      if (name === "message.created" && newChatAlerts.delete(message.chat_id) && chat) {
        alertChat(chat, t("notify.new_chat"));
      }
      if (name === "message.created" && message.direction === "in" && message.type !== "reaction" && chat &&
        chat.assignee_id === state.user.id && chat.status === "open" &&
        (document.visibilityState !== "visible" || state.openChatId !== chat.id)) {
        notify({
          title: contactName(chat.contact),
          body: previewText(message.text || message.caption || `[${message.type}]`),
          tag: "chat-" + chat.id,
          onClick: () => navigate(`#/chats/${chat.id}`),
        });
      }
      break;
    }
    case "typing":
    case "viewing":
      typingOrViewing(name, data);
      break;
    case "presence": {
      state.presence.set(data.user_id, data.presence);
      const user = state.users.get(data.user_id);
      if (user) user.presence = data.presence;
      if (data.user_id === state.user.id && data.presence !== "offline" && data.presence !== state.myPresence) {
        state.myPresence = data.presence;
        emit("my-presence", data.presence);
      }
      emit("presence", data);
      break;
    }
    case "queue.stats":
      state.live = data;
      emit("stats", data);
      break;
    case "contact.updated": {
      let changed = false;
      for (const chat of state.chats.values()) {
        if (chat.contact && chat.contact.id === data.id) {
          chat.contact = { ...chat.contact, ...data };
          changed = true;
        }
      }
      if (changed) emit("chats", null);
      break;
    }
    case "integration.paused":
      if (isAdmin()) toast(t("webhooks.paused_toast", { url: data.url }), "error", 10000);
      break;
    default:
      break;
  }
}

async function reloadLists() {
  const tabs = ["pending", "mine"];
  await Promise.all(tabs.map((tab) => loadTab(tab).catch(() => null)));
  if (view && view.name === "chats") view.instance.reloadList();
}

function startSocket() {
  socket = new Socket({
    onEvent,
    onReady(resumed) {
      if (!resumed) reloadLists();
      if (state.myPresence === "away") socket.send({ type: "presence", presence: "away" });
      if (state.openChatId) socket.send({ type: "viewing", chat_id: state.openChatId });
    },
    onResync() {
      reloadLists();
      emit("resync", null);
    },
    onState(connected) {
      state.connected = connected;
      emit("connection", connected);
    },
    onUnauthorized() {
      endSession(t("login.expired"));
    },
  });
  socket.start();
}

// ---------- session ----------

async function loadReference() {
  const jobs = [
    api.get("/queues").then((page) => {
      state.queues = page.items;
      emit("queues", null);
    }).catch(() => {}),
    api.get("/numbers").then((page) => {
      state.numbers = page.items;
      emit("chats", null);
    }).catch(() => {}),
    // Canned responses may not exist on this hub: only a 200 turns the feature on.
    api.get("/canned-responses").then((page) => {
      state.canned = page.items || [];
      state.cannedAvailable = true;
      state.cannedAt = Date.now();
    }).catch(() => {
      state.canned = null;
      state.cannedAvailable = false;
    }),
  ];
  if (isStaff()) {
    jobs.push(api.get("/users?limit=200").then((page) => {
      for (const user of page.items) {
        state.users.set(user.id, user);
        state.presence.set(user.id, user.presence);
      }
      emit("users", null);
    }).catch(() => {}));
    jobs.push(api.get("/queues/live").then((live) => {
      state.live = live;
      emit("stats", live);
    }).catch(() => {}));
  }
  await Promise.all(jobs);
}

function setPresence(presence) {
  state.myPresence = presence;
  sessionStorage.setItem(PRESENCE_KEY, presence);
  if (socket) socket.send({ type: "presence", presence });
  emit("my-presence", presence);
}

function mountShell() {
  if (shell) shell.destroy();
  if (view) view.instance.destroy();
  view = null;
  shell = createShell({ onLogout: () => api.logout(), onPresence: setPresence });
  root.replaceChildren(shell.el);
  route();
}

function startSession(user) {
  reset();
  session = true;
  state.user = user;
  state.myPresence = sessionStorage.getItem(PRESENCE_KEY) === "away" ? "away" : "online";
  mountShell();
  loadReference();
  reloadLists();
  startSocket();
  updateTitle();
}

function endSession(notice) {
  session = false;
  newChatAlerts.clear();
  if (socket) socket.stop();
  socket = null;
  if (view) view.instance.destroy();
  view = null;
  if (shell) shell.destroy();
  shell = null;
  reset();
  document.querySelectorAll("dialog").forEach((d) => d.remove());
  updateTitle();
  showLogin(notice);
}

function showLogin(notice) {
  renderLogin(root, { onSignedIn: startSession, notice });
}

api.onSignedOut((reason) => {
  if (session) endSession(reason === "expired" ? t("login.expired") : null);
});

api.onSession((user) => {
  if (session && state.user && user && user.id === state.user.id) {
    state.user = { ...state.user, ...user };
  }
});

on("chat", updateTitle);
on("chats", updateTitle);

onLangChange(() => {
  updateTitle();
  if (session) mountShell();
  else showLogin();
});

async function boot() {
  let user = null;
  try {
    user = await api.resume();
  } catch (err) {
    showLogin(t("error.network"));
    return;
  }
  if (!user) {
    showLogin();
  } else if (user.must_change_password) {
    renderPasswordChange(root, { email: user.email, onSignedIn: startSession });
  } else {
    startSession(user);
  }
}

window.addEventListener("unhandledrejection", (e) => {
  if (e.reason && e.reason.name === "ApiError") return;
  console.error(e.reason);
});

boot().catch((err) => {
  console.error(err);
  toast(t("error.generic"), "error");
});
