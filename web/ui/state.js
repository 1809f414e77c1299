// The console's shared state and a tiny event bus. Views read from here and listen on the
// bus; app.js feeds it from HTTP answers and socket events.

export const state = {
  user: null,
  chats: new Map(), // id -> chat
  users: new Map(), // id -> user (staff only can list)
  queues: [], // [{id, name, color, greeting}]
  numbers: [], // [{id, name, display_number}]: the business numbers
  presence: new Map(), // user id -> online|away|offline
  myPresence: "online",
  typing: new Map(), // chat id -> Map(user id -> {name, until})
  viewing: new Map(), // chat id -> Map(user id -> name)
  live: null, // queue.stats / queues/live
  canned: null, // [{id, shortcut, text}] when the endpoint exists
  cannedAvailable: false,
  templates: null,
  connected: false,
  openChatId: null,
};

const bus = new EventTarget();

export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

/** Listens; returns the function that stops listening. */
export function on(name, fn) {
  const handler = (e) => fn(e.detail);
  bus.addEventListener(name, handler);
  return () => bus.removeEventListener(name, handler);
}

export function isStaff() {
  return !!state.user && (state.user.role === "admin" || state.user.role === "supervisor");
}

export function isAdmin() {
  return !!state.user && state.user.role === "admin";
}

/** Keeps the newer of two versions of a chat; emits "chat". */
export function upsertChat(chat, change) {
  if (!chat || !chat.id) return null;
  const copy = { ...chat };
  delete copy.change;
  const old = state.chats.get(copy.id);
  if (old && copy.updated_at < old.updated_at && !change) return old;
  state.chats.set(copy.id, copy);
  emit("chat", { chat: copy, old, change });
  return copy;
}

export function upsertChats(list) {
  for (const chat of list) {
    const old = state.chats.get(chat.id);
    if (!old || chat.updated_at >= old.updated_at) state.chats.set(chat.id, chat);
  }
  emit("chats", null);
}

export function queueById(id) {
  return state.queues.find((q) => q.id === id) || null;
}

/** The business number's name (its id when not listed), for chats of several numbers. */
export function numberName(id) {
  const number = state.numbers.find((n) => n.id === id);
  return number ? number.name : id || "";
}

export function userName(id) {
  if (!id) return "";
  if (state.user && state.user.id === id) return state.user.name;
  const user = state.users.get(id);
  return user ? user.name : "";
}

/** Unread chats for the page title: pending ones and mine. */
export function unreadChats() {
  let n = 0;
  for (const chat of state.chats.values()) {
    if (chat.unread_count > 0 && (chat.status === "pending" || (chat.status === "open" && chat.assignee_id === state.user.id))) n++;
  }
  return n;
}

export function windowOpen(chat) {
  return !!chat.window_expires_at && new Date(chat.window_expires_at).getTime() > Date.now();
}

export function reset() {
  state.user = null;
  state.chats.clear();
  state.users.clear();
  state.queues = [];
  state.numbers = [];
  state.presence.clear();
  state.typing.clear();
  state.viewing.clear();
  state.live = null;
  state.canned = null;
  state.cannedAvailable = false;
  state.templates = null;
  state.openChatId = null;
}
