// The sandbox customer simulator (/simulator): play WhatsApp customers in a second window.
// The browser cannot sign webhooks (the secret stays on the server), so it asks the hub,
// as a signed-in user of the hub:
//   POST /api/v1/sandbox/customers/{wa_id or BSUID}/messages
//        {"type": "text", "text", "profile_name", "reply_to"?: <message id>,
//         "username"?, "phone_number_id"?: the sandbox number written to}
//        {"type": "image", "text"?: <caption>, "profile_name"}   (the hub makes the picture)
//   GET  /api/v1/sandbox/customers/{key}/messages?phone_number_id= -> {"items": [message, ...]}
// A customer is a phone number, or (a username-only customer) a BSUID such as BR.123.
// The GET shows the customer's messages and the agents' replies with their ticks.

import { h, icon, avatar, replace } from "./dom.js";
import { t, onLangChange } from "./i18n.js";
import * as api from "./api.js";
import { time, formatPhone, typeLabel } from "./format.js";
import { mediaUrl } from "./media.js";
import { langSwitch } from "./views/lang-switch.js";
import { renderLogin, renderPasswordChange } from "./views/login.js";
import { tick, richText, summary } from "./views/message.js";
import { toast, errorText } from "./views/ui.js";

const STORE_KEY = "atende.sim.customers";
const POLL_EVERY = 2000;

const root = document.getElementById("app");
let customers = load();
let current = customers[0] || null;
let available = true; // false once the hub answered 404
let messages = []; // the current customer's conversation, as the hub lists it
let replyTo = null;
let pollTimer = null;
let signedIn = false;

function load() {
  try {
    const list = JSON.parse(localStorage.getItem(STORE_KEY) || "[]");
    return Array.isArray(list) ? list.filter((c) => c && c.wa_id) : [];
  } catch (e) {
    return [];
  }
}

function save() {
  localStorage.setItem(STORE_KEY, JSON.stringify(customers));
}

function randomNumber() {
  const digits = Array.from(crypto.getRandomValues(new Uint8Array(8)), (n) => n % 10).join("");
  return "55119" + digits;
}

function path(waId) {
  return `/sandbox/customers/${encodeURIComponent(waId)}/messages`;
}

/** The customer's conversation on the sandbox number they write to. */
function viewPath(customer) {
  const number = customer.number ? `?phone_number_id=${encodeURIComponent(customer.number)}` : "";
  return path(customer.wa_id) + number;
}

/** How the customer is shown: their phone, else their username. */
function handle(customer) {
  return customer.username || formatPhone(customer.wa_id);
}

/** A made-up BSUID, for a customer who hides their phone behind a username. */
function randomUserId() {
  return "BR." + Array.from(crypto.getRandomValues(new Uint8Array(18)), (n) => n % 10).join("");
}

/** The sandbox's business numbers, for the "writes to" choice. */
let numbers = [];
async function loadNumbers() {
  try {
    numbers = (await api.get("/numbers")).items || [];
  } catch (e) {
    numbers = [];
  }
}

async function poll() {
  clearTimeout(pollTimer);
  if (!signedIn || !current || !available) return;
  const waId = current.wa_id;
  const shown = current;
  try {
    const page = await api.get(viewPath(current));
    if (!current || current.wa_id !== waId || current !== shown) return;
    const before = JSON.stringify(messages.map((m) => [m.id, m.status]));
    messages = page.items || [];
    if (before !== JSON.stringify(messages.map((m) => [m.id, m.status]))) renderConversation();
  } catch (err) {
    if (err.status === 404) {
      available = false;
      render();
      return;
    }
  }
  pollTimer = setTimeout(poll, POLL_EVERY);
}

async function send(body) {
  if (!current) return;
  try {
    const extra = { profile_name: current.name };
    if (current.username) extra.username = current.username;
    if (current.number) extra.phone_number_id = current.number;
    const message = await api.post(path(current.wa_id), { ...body, ...extra });
    if (message && message.id && !messages.some((m) => m.id === message.id)) messages.push(message);
    replyTo = null;
    renderConversation();
    poll();
  } catch (err) {
    if (err.status === 404) {
      available = false;
      render();
      return;
    }
    toast(errorText(err), "error");
  }
}

// ---------- rendering ----------

let conversationEl = null;

function notice() {
  if (available) return null;
  return h("div", { class: "sim-notice", test: "sim-unavailable", role: "alert" },
    h("strong", { text: t("sim.unavailable_title") }),
    h("p", { text: t("sim.unavailable_text") }),
    h("code", { text: "atende simulate --url " + location.origin + " --customers 3 --rate 1 --count 20" }));
}

/** The name of the sandbox number a customer writes to, when there are several. */
function numberLabel(customer) {
  if (numbers.length < 2) return "";
  const number = numbers.find((n) => n.id === customer.number) || numbers[0];
  return number ? number.name : "";
}

function customerList() {
  const number = h("input", { type: "tel", test: "sim-new-number", value: randomNumber(), inputmode: "numeric", autocomplete: "off" });
  const name = h("input", { type: "text", test: "sim-new-name", maxlength: "60", autocomplete: "off", placeholder: t("sim.name_placeholder") });
  const usernameOnly = h("input", { type: "checkbox", test: "sim-username-only" });
  const writesTo = h("select", { test: "sim-number" },
    numbers.map((n) => h("option", { value: n.id, text: n.name })));
  const form = h("form", { class: "sim-new", novalidate: true },
    h("h2", { text: t("sim.new_customer") }),
    h("label", { class: "field" }, h("span", { text: t("sim.number") }), number),
    h("label", { class: "field" }, h("span", { text: t("sim.name") }), name),
    h("label", { class: "field field-check" }, usernameOnly, h("span", { text: t("sim.username_only") })),
    numbers.length > 1 ? h("label", { class: "field" }, h("span", { text: t("sim.writes_to") }), writesTo) : null,
    h("button", { type: "submit", class: "btn btn-primary", test: "sim-add", text: t("sim.add") }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosenName = name.value.trim() || t("sim.default_name");
    const waId = usernameOnly.checked ? randomUserId() : number.value.replace(/\D/g, "");
    if (!usernameOnly.checked && (waId.length < 8 || waId.length > 15)) {
      toast(t("sim.bad_number"), "error");
      return;
    }
    const target = numbers.length > 1 ? writesTo.value : null;
    const existing = customers.find((c) => c.wa_id === waId && (c.number || null) === target);
    const username = usernameOnly.checked
      ? "@" + (chosenName.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9._]+/g, "") || "cliente")
      : null;
    const customer = existing || { wa_id: waId, name: chosenName, username, number: target };
    if (!existing) customers.unshift(customer);
    save();
    select(customer);
  });
  return h("aside", { class: "sim-side", "aria-label": t("sim.customers") },
    h("header", { class: "pane-head" },
      h("span", { class: "logo", "aria-hidden": "true" }, "A"),
      h("h1", { class: "pane-title", text: t("sim.title") }),
      h("button", { type: "button", class: "icon-btn", test: "logout", "aria-label": t("menu.logout"), title: t("menu.logout"),
        on: { click: () => api.logout() } }, icon("logout"))),
    h("p", { class: "sim-explain muted", text: t("sim.explain") }),
    h("div", { class: "sim-lang" }, langSwitch()),
    form,
    h("h2", { class: "sim-list-title", text: t("sim.customers") }),
    customers.length
      ? h("div", { class: "sim-customers" }, customers.map((c) => h("button", {
        type: "button", class: ["chat-row", current === c && "active"], test: "sim-customer",
        on: { click: () => select(c) },
      }, avatar(c.name, c.wa_id), h("span", { class: "row-main" },
        h("span", { class: "row-name", text: c.name }),
        h("span", { class: "row-preview", text: [handle(c), numberLabel(c)].filter(Boolean).join(" · ") })))))
      : h("p", { class: "empty", text: t("sim.no_customers") }));
}

/** One message from the customer's side: theirs on the right, the business's on the left. */
function bubble(m) {
  const mine = m.direction === "in";
  const content = [];
  if (m.reply_to && m.reply_to.message_id) {
    const quoted = messages.find((x) => x.id === m.reply_to.message_id);
    if (quoted) content.push(h("span", { class: "quote" }, h("span", { class: "quote-text", text: summary(quoted) })));
  }
  if ((m.type === "image" || m.type === "sticker") && m.media) {
    const box = h("div", { class: "media-box image" }, h("div", { class: "media-loading" }));
    mediaUrl(m.media).then((url) => box.replaceChildren(h("img", { src: url, alt: m.caption || typeLabel("image") })))
      .catch(() => box.replaceChildren(h("em", { class: "muted", text: typeLabel("image") })));
    content.push(box);
  } else if (m.type === "template") {
    content.push(h("span", { class: "template-label" }, icon("template"), t("msg.template", { name: m.text || "" })));
  } else if (m.type !== "text" && m.type !== "image" && !m.text && !m.caption) {
    content.push(h("em", { class: "muted", text: typeLabel(m.type) }));
  }
  const text = m.type === "template" ? null : (m.text || m.caption);
  if (text) content.push(richText(text));
  if (!mine && m.type === "interactive" && m.details && m.details.interactive) content.push(choices(m));
  const actions = mine ? null : h("div", { class: "msg-actions" },
    h("button", { type: "button", class: "icon-btn msg-action", test: "sim-reply", "aria-label": t("msg.reply"), title: t("msg.reply"),
      on: { click: () => {
        replyTo = m;
        renderConversation();
      } } }, icon("reply")));
  return h("div", { class: ["msg", mine ? "msg-out" : "msg-in"], test: "sim-bubble", dataset: { messageId: m.id, status: m.status } },
    h("div", { class: "msg-wrap" },
      h("div", { class: "bubble" }, content,
        h("span", { class: "msg-meta" }, h("time", { text: time(m.timestamp || m.created_at) }), mine ? null : tick(m))),
      actions));
}

/** The buttons or list rows of an interactive message from the business: tapping one
 * answers it as WhatsApp would (a button_reply or list_reply naming the question). */
function choices(m) {
  const interactive = m.details.interactive;
  const action = interactive.action || {};
  let options = [];
  if (interactive.type === "button") options = (action.buttons || []).map((b) => b.reply || {});
  else if (interactive.type === "list") options = (action.sections || []).flatMap((sec) => sec.rows || []);
  const tap = (option) => send({ type: "choice", reply_to: m.id, choice_id: option.id });
  const buttons = options.map((option) => h("button", { type: "button", class: "sim-choice", test: "sim-choice", dataset: { choiceId: option.id }, text: option.title,
    on: { click: () => tap(option) } }));
  if (interactive.type === "cta_url") {
    const params = action.parameters || {};
    buttons.push(h("a", { class: "sim-choice", href: params.url, target: "_blank", rel: "noopener noreferrer", text: params.display_text }));
  }
  return h("div", { class: "sim-choices" }, buttons);
}

function renderConversation() {
  if (!conversationEl) return;
  if (!current) {
    replace(conversationEl, h("div", { class: "intro" }, h("h2", { text: t("sim.pick") })));
    return;
  }
  const list = h("div", { class: "messages-list", test: "sim-messages" }, messages.map(bubble));
  const scroller = h("div", { class: "messages" }, list);
  const input = h("textarea", { class: "composer-input", rows: "1", test: "sim-composer", "aria-label": t("sim.message"), placeholder: t("sim.message"), maxlength: "4096" });
  const sendText = () => {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const body = { type: "text", text };
    if (replyTo) body.reply_to = replyTo.id;
    send(body);
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText();
    }
  });
  const sendImage = () => {
    const caption = input.value.trim();
    input.value = "";
    send(caption ? { type: "image", text: caption } : { type: "image" });
  };
  const replyBar = replyTo ? h("div", { class: "reply-bar", test: "sim-reply-bar" },
    h("span", { class: "reply-bar-body" }, h("strong", { text: t("composer.replying") }), h("span", { class: "reply-bar-text", text: summary(replyTo) })),
    h("button", { type: "button", class: "icon-btn", "aria-label": t("composer.cancel_reply"), on: { click: () => {
      replyTo = null;
      renderConversation();
    } } }, icon("close"))) : null;
  const composer = h("div", { class: "composer" }, replyBar, h("div", { class: "composer-row" },
    h("button", { type: "button", class: "icon-btn", test: "sim-image", "aria-label": t("sim.send_image"), title: t("sim.send_image"), on: { click: sendImage } }, icon("attach")),
    input,
    h("button", { type: "button", class: "icon-btn send-btn", test: "sim-send", "aria-label": t("sim.send"), on: { click: sendText } }, icon("send"))));

  replace(conversationEl,
    h("header", { class: "pane-head conv-head" },
      avatar(current.name, current.wa_id),
      h("span", { class: "conv-titles" }, h("h2", { class: "conv-name", test: "sim-current", text: current.name }),
        h("p", { class: "conv-sub", text: [handle(current), numberLabel(current)].filter(Boolean).join(" · ") })),
      h("button", { type: "button", class: "btn btn-small", test: "sim-remove", text: t("sim.remove"), on: { click: removeCurrent } })),
    h("div", { class: "messages-wrap" }, scroller),
    h("footer", { class: "conv-footer" }, composer));
  requestAnimationFrame(() => {
    scroller.scrollTop = scroller.scrollHeight;
  });
  input.focus();
}

function removeCurrent() {
  customers = customers.filter((c) => c !== current);
  save();
  current = customers[0] || null;
  messages = [];
  replyTo = null;
  render();
  poll();
}

function select(customer) {
  current = customer;
  messages = [];
  replyTo = null;
  render();
  poll();
}

function render() {
  document.title = t("sim.title");
  if (!signedIn) return;
  conversationEl = h("section", { class: "sim-phone", "aria-label": t("sim.conversation") });
  replace(root, h("div", { class: "sim-layout" }, customerList(), h("div", { class: "sim-main" }, notice(), conversationEl)));
  renderConversation();
}

async function start() {
  signedIn = true;
  await loadNumbers();
  render();
  poll();
}

function showLogin(notice) {
  signedIn = false;
  clearTimeout(pollTimer);
  renderLogin(root, { onSignedIn: start, notice, intro: t("sim.sign_in") });
}

api.onSignedOut((reason) => showLogin(reason === "expired" ? t("login.expired") : null));
onLangChange(() => (signedIn ? render() : showLogin()));

(async () => {
  document.title = t("sim.title");
  let user = null;
  try {
    user = await api.resume();
  } catch (err) {
    showLogin(t("error.network"));
    return;
  }
  if (!user) showLogin();
  else if (user.must_change_password) renderPasswordChange(root, { email: user.email, onSignedIn: start });
  else start();
})();
