// Hash routes of the console:
//   #/chats, #/chats/<id>, #/scheduled, #/supervisor, #/reports, #/contacts[/<id>], #/campaigns[/<id>],
//   #/admin/<section>
// One view is mounted at a time inside the shell; supervisor and admin views load on demand.

import { state, isStaff, isAdmin } from "./state.js";
import { createChatsView } from "./views/chats-view.js";

let shell = null;
let live = null;
let view = null; // {name, instance}

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "supervisor" && isStaff()) return { name: "supervisor" };
  if (parts[0] === "scheduled") return { name: "scheduled" };
  if (parts[0] === "reports" && isStaff()) return { name: "reports" };
  if (parts[0] === "contacts" && isStaff()) return { name: "contacts", id: parts[1] || null };
  if (parts[0] === "campaigns" && isStaff()) return { name: "campaigns", id: parts[1] || null };
  if (parts[0] === "admin" && isAdmin()) return { name: "admin", section: parts[1] || "users" };
  return { name: "chats", chatId: parts[0] === "chats" && parts[1] ? parts[1] : null };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** The mounted view, if any: {name, instance}. */
export function currentView() {
  return view;
}

/** Mounts the routes in `shellInstance`; `socket` is the handle views send frames through. */
export function startRouting(shellInstance, socket) {
  stopRouting();
  shell = shellInstance;
  live = socket;
  route();
}

export function stopRouting() {
  if (view) view.instance.destroy();
  view = null;
  shell = null;
}

async function route() {
  if (!shell || !state.user) return;
  // A dialog belongs to the page it was opened on.
  for (const open of document.querySelectorAll("dialog[open]")) open.close();
  const r = parseRoute();
  shell.setRoute(r.name);
  if (view && view.name === r.name) {
    if (r.name === "chats") view.instance.show(r.chatId);
    else if (r.name === "admin") view.instance.show(r.section);
    else if (r.name === "contacts" || r.name === "campaigns") view.instance.show(r.id);
    shell.setConversationOpen(r.name === "chats" && !!r.chatId);
    return;
  }
  if (view) view.instance.destroy();
  view = null;
  const mountedIn = shell;
  let instance;
  if (r.name === "supervisor") {
    const { createSupervisorView } = await import("./views/supervisor.js");
    instance = createSupervisorView({ navigate });
  } else if (r.name === "scheduled") {
    const { createScheduledView } = await import("./views/scheduled.js");
    instance = createScheduledView();
  } else if (r.name === "reports") {
    const { createReportsView } = await import("./views/reports.js");
    instance = createReportsView();
  } else if (r.name === "contacts") {
    const { createContactsView } = await import("./views/contacts.js");
    instance = createContactsView({ navigate });
    instance.show(r.id);
  } else if (r.name === "campaigns") {
    const { createCampaignsView } = await import("./views/campaigns.js");
    instance = createCampaignsView({ navigate });
    instance.show(r.id);
  } else if (r.name === "admin") {
    const { createAdminView } = await import("./views/admin.js");
    instance = createAdminView({ navigate });
    instance.show(r.section);
  } else {
    instance = createChatsView({ socket: live, navigate });
    instance.show(r.chatId);
  }
  // A later navigation, or the end of the session, may have won the race while the module loaded.
  if (shell !== mountedIn || parseRoute().name !== r.name) {
    instance.destroy();
    if (shell) route();
    return;
  }
  view = { name: r.name, instance };
  shell.content.replaceChildren(instance.el);
  shell.setConversationOpen(r.name === "chats" && !!r.chatId);
}

window.addEventListener("hashchange", route);
