// A signed-in session: the reference data every view needs, the shell with its routes,
// the realtime socket, presence and the window title; and back to the sign-in page.

import * as api from "./api.js";
import { t, onLangChange } from "./i18n.js";
import { state, emit, on, reset, isStaff, unreadChats } from "./state.js";
import { renderLogin, renderEnrolment } from "./views/login.js";
import { createShell } from "./views/shell.js";
import { startRouting, stopRouting } from "./router.js";
import { live, startRealtime, stopRealtime, reloadLists } from "./realtime.js";

const root = document.getElementById("app");
const PRESENCE_KEY = "atende.presence";

let shell = null;

function updateTitle() {
  const n = state.user ? unreadChats() : 0;
  document.title = n ? `(${n}) ${t("app.name")}` : t("app.name");
}

async function loadReference() {
  const jobs = [
    api.get("/queues").then((page) => {
      state.queues = page.items;
      emit("queues", null);
    }).catch(() => {}),
    api.get("/labels").then((page) => {
      state.labels = page.items;
      emit("chats", null);
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
    jobs.push(api.get("/queues/live").then((stats) => {
      state.live = stats;
      emit("stats", stats);
    }).catch(() => {}));
  }
  await Promise.all(jobs);
}

function setPresence(presence) {
  state.myPresence = presence;
  sessionStorage.setItem(PRESENCE_KEY, presence);
  live.send({ type: "presence", presence });
  emit("my-presence", presence);
}

function mountShell() {
  stopRouting();
  if (shell) shell.destroy();
  shell = createShell({ onLogout: () => api.logout(), onPresence: setPresence });
  root.replaceChildren(shell.el);
  startRouting(shell, live);
}

/**
 * Enters the console as `user` (the answer of a sign-in or a resumed session); a user whose
 * role must have two-step verification enrols first.
 */
export async function startSession(user) {
  if (!user.two_factor_enabled) {
    const status = await api.get("/auth/2fa").catch(() => null);
    if (status && status.required && !status.enabled) return enrolFirst(user);
  }
  reset();
  state.user = user;
  state.myPresence = sessionStorage.getItem(PRESENCE_KEY) === "away" ? "away" : "online";
  mountShell();
  loadReference();
  reloadLists();
  startRealtime({ onUnauthorized: () => endSession(t("login.expired")) });
  updateTitle();
}

/** The enrolment of a second factor that `user`'s role must have, then the console. */
function enrolFirst(user) {
  renderEnrolment(root, {
    onDone: () => startSession({ ...user, two_factor_enabled: true }),
    onCancel: () => api.logout().then(() => showLogin()),
  });
}

/** Takes the console down: socket, pages, shell, state. */
function leaveConsole() {
  stopRealtime();
  stopRouting();
  if (shell) shell.destroy();
  shell = null;
  reset();
  document.querySelectorAll("dialog").forEach((d) => d.remove());
  updateTitle();
}

function endSession(notice) {
  leaveConsole();
  showLogin(notice);
}

export function showLogin(notice) {
  renderLogin(root, { onSignedIn: startSession, notice });
}

api.onSignedOut((reason) => {
  if (state.user) endSession(reason === "expired" ? t("login.expired") : null);
});

// An admin made a second factor mandatory for this user's role while they were working.
api.onSetupRequired(() => {
  const user = state.user;
  if (!user) return;
  leaveConsole();
  enrolFirst(user);
});

api.onSession((user) => {
  if (state.user && user && user.id === state.user.id) {
    state.user = { ...state.user, ...user };
  }
});

on("chat", updateTitle);
on("chats", updateTitle);

onLangChange(() => {
  updateTitle();
  if (state.user) mountShell();
  else showLogin();
});
