// @ts-check
// The console's shared state and a tiny event bus. Views read from here and listen on the
// bus; session.js and realtime.js feed it from HTTP answers and socket events.

/**
 * The signed-in user, as the API returns it (more fields may come along).
 * @typedef {{id: string, name: string, email: string, role: "admin" | "supervisor" | "agent",
 *   queue_ids: string[], presence?: string, must_change_password?: boolean}} User
 */
/**
 * A chat as the API returns it; only the fields the shared state reads are named.
 * @typedef {{id: string, status: string, updated_at: string, unread_count?: number,
 *   assignee_id?: string | null, queue_id?: string | null, window_expires_at?: string | null,
 *   contact?: {id: string, name?: string | null} | null, last_message?: object | null,
 *   snoozed?: boolean, snoozed_until?: string | null, change?: string}} Chat
 */
/** @typedef {{id: string, name: string, color?: string | null, greeting?: string | null}} Queue */
/** @typedef {{id: string, name: string, display_number?: string}} BusinessNumber */
/** @typedef {{id: string, shortcut: string, text: string}} CannedResponse */
/** @typedef {{name: string, color: string}} Label */

/**
 * @type {{
 *   user: User | null,
 *   chats: Map<string, Chat>,
 *   users: Map<string, User>,
 *   queues: Queue[],
 *   numbers: BusinessNumber[],
 *   labels: Label[],
 *   presence: Map<string, string>,
 *   myPresence: string,
 *   typing: Map<string, Map<string, {name: string, until: number}>>,
 *   viewing: Map<string, Map<string, string>>,
 *   live: object | null,
 *   canned: CannedResponse[] | null,
 *   cannedAvailable: boolean,
 *   cannedAt?: number,
 *   templates: object[] | null,
 *   connected: boolean,
 *   openChatId: string | null,
 * }}
 */
export const state = {
  user: null,
  chats: new Map(), // staff only can list users
  users: new Map(),
  queues: [],
  numbers: [], // the business numbers
  labels: [], // the admin's labels and their colours
  presence: new Map(), // online|away|offline
  myPresence: "online",
  typing: new Map(),
  viewing: new Map(),
  live: null, // queue.stats / queues/live
  canned: null, // when the endpoint exists
  cannedAvailable: false,
  templates: null,
  connected: false,
  openChatId: null,
};

const bus = new EventTarget();

/**
 * @param {string} name
 * @param {unknown} detail
 */
export function emit(name, detail) {
  bus.dispatchEvent(new CustomEvent(name, { detail }));
}

/**
 * Listens; returns the function that stops listening.
 * @param {string} name
 * @param {(detail: any) => void} fn
 * @returns {() => void}
 */
export function on(name, fn) {
  /** @param {Event} e */
  const handler = (e) => fn(/** @type {CustomEvent} */ (e).detail);
  bus.addEventListener(name, handler);
  return () => bus.removeEventListener(name, handler);
}

export function isStaff() {
  return !!state.user && (state.user.role === "admin" || state.user.role === "supervisor");
}

export function isAdmin() {
  return !!state.user && state.user.role === "admin";
}

/**
 * Keeps the newer of two versions of a chat; emits "chat".
 * @param {Chat | null | undefined} chat
 * @param {string} [change]
 * @returns {Chat | null}
 */
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

/** @param {Chat[]} list */
export function upsertChats(list) {
  for (const chat of list) {
    const old = state.chats.get(chat.id);
    if (!old || chat.updated_at >= old.updated_at) state.chats.set(chat.id, chat);
  }
  emit("chats", null);
}

/**
 * @param {string | null | undefined} id
 * @returns {Queue | null}
 */
export function queueById(id) {
  return state.queues.find((q) => q.id === id) || null;
}

/**
 * The business number's name (its id when not listed), for chats of several numbers.
 * @param {string | null | undefined} id
 */
export function numberName(id) {
  const number = state.numbers.find((n) => n.id === id);
  return number ? number.name : id || "";
}

/** @param {string | null | undefined} id */
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
    const mine = chat.status === "open" && !!state.user && chat.assignee_id === state.user.id;
    if ((chat.unread_count || 0) > 0 && (chat.status === "pending" || mine)) n++;
  }
  return n;
}

/**
 * Minutes left of an open 24-hour window that closes within the hour; else null.
 * @param {Chat} chat
 * @returns {number | null}
 */
export function windowClosesSoon(chat) {
  if (!chat.window_expires_at || chat.status === "closed") return null;
  const left = new Date(chat.window_expires_at).getTime() - Date.now();
  return left > 0 && left <= 3600 * 1000 ? Math.max(1, Math.round(left / 60000)) : null;
}

/** @param {Chat} chat */
export function windowOpen(chat) {
  return !!chat.window_expires_at && new Date(chat.window_expires_at).getTime() > Date.now();
}

export function reset() {
  state.user = null;
  state.chats.clear();
  state.users.clear();
  state.queues = [];
  state.numbers = [];
  state.labels = [];
  state.presence.clear();
  state.typing.clear();
  state.viewing.clear();
  state.live = null;
  state.canned = null;
  state.cannedAvailable = false;
  state.templates = null;
  state.openChatId = null;
}
