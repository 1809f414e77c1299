// The realtime side of the console: the socket's events feed the shared state, and
// the alerts an agent asked for (new chats, chats given to them, their customers' messages).

import { Socket } from "./socket.js";
import { t } from "./i18n.js";
import { state, emit, upsertChat, isAdmin } from "./state.js";
import { contactName, previewText } from "./format.js";
import { notify } from "./notify.js";
import { loadTab } from "./views/chat-list.js";
import { toast } from "./views/ui.js";
import { navigate, currentView } from "./router.js";

const TYPING_SHOWN = 5000;

let socket = null;
/** The stable handle views send frames through; the socket behind it comes and goes. */
export const live = { send: (frame) => socket && socket.send(frame) };

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
    case "chat.hidden":
      // A resumed socket's word that a chat left this agent's view while it was away.
      if (state.chats.delete(data.id)) emit("chats", null);
      if (state.openChatId === data.id) navigate("#/chats");
      break;
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
    case "campaign.progress":
    case "campaign.updated":
      emit("campaign", data);
      break;
    case "scheduled.updated":
      emit("scheduled", data);
      break;
    case "integration.paused":
      if (isAdmin()) toast(t("webhooks.paused_toast", { url: data.url }), "error", 10000);
      break;
    default:
      break;
  }
}

/** Reloads the chat tabs every agent sees, and the list on screen. */
export async function reloadLists() {
  const tabs = ["pending", "mine"];
  await Promise.all(tabs.map((tab) => loadTab(tab).catch(() => null)));
  const view = currentView();
  if (view && view.name === "chats") view.instance.reloadList();
}

/** Opens the socket for a signed-in user; `onUnauthorized` ends the session. */
export function startRealtime({ onUnauthorized }) {
  stopRealtime();
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
    onUnauthorized,
  });
  socket.start();
}

export function stopRealtime() {
  newChatAlerts.clear();
  if (socket) socket.stop();
  socket = null;
}
