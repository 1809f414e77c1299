// One message of a conversation: bubble, quote, media, location, contacts, reactions,
// delivery ticks. Text always goes in as text nodes; only http(s) links become <a>.

import { h, icon } from "../dom.js";
import { t, has } from "../i18n.js";
import { time, dateTime, fileSize, typeLabel, formatPhone } from "../format.js";
import { mediaUrl, forgetMedia, saveMedia } from "../media.js";
import { userName, queueById } from "../state.js";

export const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/gi;

/** Text with http(s) links as anchors that open in a new tab. */
export function richText(text, cls) {
  const el = h("span", { class: cls || "msg-text" });
  const value = String(text || "");
  let last = 0;
  for (const match of value.matchAll(URL_RE)) {
    if (match.index > last) el.appendChild(document.createTextNode(value.slice(last, match.index)));
    el.appendChild(h("a", { href: match[0], target: "_blank", rel: "noopener noreferrer", text: match[0] }));
    last = match.index + match[0].length;
  }
  if (last < value.length) el.appendChild(document.createTextNode(value.slice(last)));
  return el;
}

/** The delivery tick of an outbound message. */
export function tick(message) {
  const status = message.status;
  const map = {
    queued: ["clock", "tick-queued"],
    sent: ["check", "tick-sent"],
    delivered: ["checks", "tick-delivered"],
    read: ["checks", "tick-read"],
    played: ["checks", "tick-read"],
    failed: ["failed", "tick-failed"],
  };
  const [name, cls] = map[status] || map.queued;
  const label = t("status_msg." + (map[status] ? status : "queued"));
  return h("span", { class: ["tick", cls], test: "tick", dataset: { status }, title: message.error ? `${label}: ${message.error.title}` : label, role: "img", "aria-label": label },
    icon(name));
}

/** A short text for a message, used in quotes and the reply bar. */
export function summary(message) {
  if (!message) return t("msg.unavailable");
  const text = message.text || message.caption;
  if (message.type === "template") return t("msg.template", { name: message.text || "" });
  if (message.type === "location") return typeLabel("location");
  if (text) return text;
  return typeLabel(message.type);
}

function mediaPlaceholder(message, onRetry) {
  return h("button", { type: "button", class: "media-missing", test: "media-retry", on: { click: onRetry } },
    icon("download"), h("span", { text: t("msg.media_unavailable") }));
}

function imageContent(message, ctx) {
  const box = h("div", { class: ["media-box", message.type === "sticker" ? "sticker" : "image"] });
  const load = () => {
    box.replaceChildren(h("div", { class: "media-loading", "aria-label": t("common.loading") }));
    mediaUrl(message.media).then((url) => {
      const img = h("img", { src: url, alt: message.caption || typeLabel(message.type), test: "message-image", loading: "lazy" });
      img.addEventListener("load", () => ctx.onMediaLoad && ctx.onMediaLoad());
      img.addEventListener("click", () => ctx.onZoom && ctx.onZoom(url, img.alt));
      box.replaceChildren(img);
    }).catch(() => {
      box.replaceChildren(mediaPlaceholder(message, () => {
        forgetMedia(message.media.id);
        load();
      }));
    });
  };
  load();
  return box;
}

/** A voice note's player: play and pause, a bar of 32 strokes that fills as it plays
 * (drawn from the file's id: the same note always looks the same), the time, and the
 * speed (1x, 1.5x, 2x). The audio is fetched once, when first played. */
function voiceContent(message) {
  const audio = new Audio();
  audio.preload = "metadata";
  // Fetched at once (a voice note is small), so its length shows before it is played.
  let loaded = true;
  mediaUrl(message.media).then((url) => {
    audio.src = url;
  }).catch(() => {
    loaded = false;
  });
  const play = h("button", { type: "button", class: "icon-btn voice-play", test: "voice-play", "aria-label": t("voice.play") }, icon("play"));
  let seed = 0;
  for (const ch of String(message.media.id)) seed = (seed * 31 + ch.charCodeAt(0)) >>> 0;
  const strokes = Array.from({ length: 32 }, (_, i) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const stroke = h("span", { class: "voice-stroke" });
    stroke.style.setProperty("--h", `${30 + ((seed >>> 8) % 70)}%`);
    return stroke;
  });
  const wave = h("div", { class: "voice-wave", test: "voice-wave", role: "slider", "aria-label": t("voice.position"), tabindex: "0", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, strokes);
  const time = h("span", { class: "voice-time", test: "voice-time", text: "0:00" });
  const speeds = [1, 1.5, 2];
  const speed = h("button", { type: "button", class: "voice-speed", test: "voice-speed", text: "1x", "aria-label": t("voice.speed") });
  const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
  function paint() {
    const d = Number.isFinite(audio.duration) ? audio.duration : 0;
    const share = d ? audio.currentTime / d : 0;
    strokes.forEach((stroke, i) => stroke.classList.toggle("played", i / strokes.length < share));
    wave.setAttribute("aria-valuenow", String(Math.round(share * 100)));
    time.textContent = audio.currentTime > 0 ? clock(audio.currentTime) : (d ? clock(d) : "0:00");
  }
  audio.addEventListener("timeupdate", paint);
  audio.addEventListener("loadedmetadata", paint);
  audio.addEventListener("play", () => play.replaceChildren(icon("pause")));
  audio.addEventListener("pause", () => play.replaceChildren(icon("play")));
  audio.addEventListener("ended", () => {
    audio.currentTime = 0;
    paint();
  });
  play.addEventListener("click", async () => {
    if (!loaded) {
      loaded = true;
      try {
        audio.src = await mediaUrl(message.media);
      } catch (err) {
        loaded = false;
        return;
      }
    }
    if (audio.paused) audio.play().catch(() => {});
    else audio.pause();
  });
  speed.addEventListener("click", () => {
    const next = speeds[(speeds.indexOf(audio.playbackRate) + 1) % speeds.length];
    audio.playbackRate = next;
    speed.textContent = `${next}x`;
  });
  wave.addEventListener("click", (e) => {
    const box = wave.getBoundingClientRect();
    if (Number.isFinite(audio.duration)) audio.currentTime = ((e.clientX - box.left) / box.width) * audio.duration;
  });
  const box = h("div", { class: "voice-note", test: "message-voice" }, play, wave, time, speed);
  box.audio = audio;
  return box;
}

function playerContent(message, kind) {
  const box = h("div", { class: ["media-box", kind] });
  const start = (autoplay) => {
    box.replaceChildren(h("div", { class: "media-loading", "aria-label": t("common.loading") }));
    mediaUrl(message.media).then((url) => {
      const player = h(kind, { src: url, controls: true, preload: "metadata", test: `message-${kind}` });
      if (autoplay) player.autoplay = true;
      box.replaceChildren(player);
    }).catch(() => {
      box.replaceChildren(mediaPlaceholder(message, () => {
        forgetMedia(message.media.id);
        start(false);
      }));
    });
  };
  if (kind === "audio") {
    start(false);
  } else {
    // Videos can be large: fetch only when asked.
    box.appendChild(h("button", { type: "button", class: "video-start", test: "video-play", "aria-label": t("msg.play_video"),
      on: { click: () => start(true) } }, icon("play")));
  }
  return box;
}

function documentContent(message) {
  const media = message.media;
  const name = media.filename || t("msg.document");
  const status = h("span", { class: "doc-meta", text: [media.mime_type, fileSize(media.size)].filter(Boolean).join(" · ") });
  const button = h("button", { type: "button", class: "icon-btn doc-download", test: "document-download", "aria-label": t("msg.download", { name }) }, icon("download"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await saveMedia(media, name);
    } catch (err) {
      forgetMedia(media.id);
      status.textContent = t("msg.media_unavailable");
    } finally {
      button.disabled = false;
    }
  });
  return h("div", { class: "doc-card", test: "message-document" },
    h("span", { class: "doc-icon" }, icon("doc")),
    h("span", { class: "doc-info" }, h("span", { class: "doc-name", text: name }), status),
    button);
}

function locationContent(message) {
  const loc = message.location || {};
  const lat = Number(loc.latitude);
  const lon = Number(loc.longitude);
  const valid = Number.isFinite(lat) && Number.isFinite(lon);
  const coords = valid ? `${lat.toFixed(5)}, ${lon.toFixed(5)}` : "";
  const map = valid
    ? `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`
    : null;
  const extra = typeof loc.url === "string" && /^https?:\/\//i.test(loc.url) ? loc.url : null;
  return h("div", { class: "location-card", test: "message-location" },
    h("span", { class: "location-pin" }, icon("pin")),
    h("span", { class: "location-info" },
      loc.name ? h("strong", { text: loc.name }) : null,
      loc.address ? h("span", { text: loc.address }) : null,
      h("span", { class: "muted", text: coords }),
      map ? h("a", { href: map, target: "_blank", rel: "noopener noreferrer", test: "location-link", text: t("msg.open_map") }) : null,
      extra ? h("a", { href: extra, target: "_blank", rel: "noopener noreferrer", text: extra }) : null));
}

function contactsContent(message) {
  const list = (message.details && Array.isArray(message.details.contacts)) ? message.details.contacts : [];
  if (!list.length) return richText(message.text || typeLabel("contacts"));
  return h("div", { class: "contacts-cards" }, list.map((c) => {
    const name = (c.name && (c.name.formatted_name || [c.name.first_name, c.name.last_name].filter(Boolean).join(" "))) || t("type.contacts");
    const phones = Array.isArray(c.phones) ? c.phones : [];
    const emails = Array.isArray(c.emails) ? c.emails : [];
    return h("div", { class: "contact-card", test: "message-contact" },
      h("span", { class: "contact-card-icon" }, icon("person")),
      h("span", { class: "contact-card-info" },
        h("strong", { text: name }),
        phones.map((p) => h("span", { text: [p.phone || formatPhone(p.wa_id), p.type].filter(Boolean).join(" · ") })),
        emails.map((e) => h("span", { class: "muted", text: e.email }))));
  }));
}

function templateContent(message, ctx) {
  const template = message.details && message.details.template;
  const name = (template && template.name) || message.text || "";
  const params = [];
  if (template && Array.isArray(template.components)) {
    for (const comp of template.components) {
      if (String(comp.type).toLowerCase() === "body" && Array.isArray(comp.parameters)) {
        for (const p of comp.parameters) params.push(p.text ?? "");
      }
    }
  }
  const body = ctx.templateBody ? ctx.templateBody(name) : null;
  const filled = body ? body.replace(/\{\{(\d+)\}\}/g, (m, n) => params[Number(n) - 1] ?? m) : null;
  return h("div", { class: "template-content" },
    h("span", { class: "template-label" }, icon("template"), t("msg.template", { name })),
    filled ? richText(filled) : null);
}

function content(message, ctx) {
  const parts = [];
  switch (message.type) {
    case "image":
    case "sticker":
      parts.push(message.media ? imageContent(message, ctx) : h("em", { class: "muted", text: typeLabel(message.type) }));
      break;
    case "audio":
      parts.push(message.media ? voiceContent(message) : h("em", { class: "muted", text: typeLabel(message.type) }));
      break;
    case "video":
      parts.push(message.media ? playerContent(message, message.type) : h("em", { class: "muted", text: typeLabel(message.type) }));
      break;
    case "document":
      parts.push(message.media ? documentContent(message) : h("em", { class: "muted", text: typeLabel("document") }));
      break;
    case "location":
      parts.push(locationContent(message));
      break;
    case "contacts":
      parts.push(contactsContent(message));
      return parts;
    case "template":
      parts.push(templateContent(message, ctx));
      return parts;
    case "unsupported": {
      const original = message.details && message.details.type;
      parts.push(h("em", { class: "muted", text: t("msg.unsupported", { type: original || "?" }) }));
      return parts;
    }
    case "interactive":
    case "button":
    case "order":
      if (!(message.details && message.details.interactive && message.direction === "out")) {
        parts.push(h("span", { class: "msg-kind", text: typeLabel(message.type) }));
      }
      break;
    default:
      break;
  }
  const text = message.type === "text" || message.type === "note" || message.type === "system" ||
    message.type === "interactive" || message.type === "button" || message.type === "order" ? message.text : message.caption;
  if (text) parts.push(richText(text));
  if (message.type === "interactive" && message.direction === "out" && message.details && message.details.interactive) {
    parts.push(interactiveChoices(message.details.interactive));
  }
  return parts;
}

/** What the customer can tap under an interactive message we sent: its buttons, list rows
 * or URL button, as WhatsApp shows them (not clickable here). */
function interactiveChoices(interactive) {
  const action = interactive.action || {};
  let labels = [];
  if (interactive.type === "button") labels = (action.buttons || []).map((b) => (b.reply || {}).title);
  else if (interactive.type === "list") labels = (action.sections || []).flatMap((s) => (s.rows || []).map((r) => r.title));
  else if (interactive.type === "cta_url") labels = [(action.parameters || {}).display_text];
  const footer = interactive.footer && interactive.footer.text;
  return h("div", { class: "msg-choices", test: "message-choices" },
    footer ? h("div", { class: "msg-footer muted", text: footer }) : null,
    interactive.type === "list" && action.button ? h("div", { class: "msg-list-button", text: "☰ " + action.button }) : null,
    labels.filter(Boolean).map((label) => h("span", { class: "msg-choice", text: label })));
}

function quote(message, ctx) {
  if (!message.reply_to || (!message.reply_to.message_id && !message.reply_to.wamid)) return null;
  const target = message.reply_to.message_id ? ctx.byId(message.reply_to.message_id) : ctx.byWamid(message.reply_to.wamid);
  let author = "";
  if (target && target.direction === "in") author = ctx.contactName;
  else if (target) author = target.author_id && target.author_id !== ctx.me ? userName(target.author_id) || t("msg.you") : t("msg.you");
  const el = h("button", { type: "button", class: ["quote", target && target.direction === "in" ? "quote-in" : "quote-out"], test: "message-quote",
    on: { click: (e) => {
      e.stopPropagation();
      if (target) ctx.onJump(target.id);
    } } },
    author ? h("strong", { text: author }) : null,
    h("span", { class: "quote-text", text: target ? summary(target) : t("msg.quote_not_loaded") }));
  return el;
}

function reactionsRow(message, ctx) {
  const list = message.wamid ? ctx.reactions(message.wamid) : [];
  if (!list.length) return null;
  return h("div", { class: "reactions", test: "message-reactions" },
    list.map((r) => h("span", { class: ["reaction", r.direction === "out" && "mine"], title: r.direction === "in" ? ctx.contactName : t("msg.you"), text: r.emoji })));
}

/** What happened to the chat, in a sentence: who did it, to whom or which queue. */
function activityText(message) {
  const d = message.details || {};
  const who = message.author_id ? userName(message.author_id) || message.author_name || t("activity.someone") : t("activity.hub");
  const person = (id) => (id ? userName(id) || t("activity.someone") : "");
  const queue = (id) => (id ? (queueById(id) || {}).name || id : t("activity.no_queue"));
  const key = "activity." + (d.activity || "updated");
  const text = t(key, {
    who, user: person(d.user_id), from: person(d.from_user_id), queue: queue(d.queue_id),
    stars: d.rating ? "★".repeat(d.rating) : "", comment: d.comment ? ` — “${d.comment}”` : "",
    until: d.until ? dateTime(d.until) : t("activity.until_reply"),
    reason: d.reason ? (has("schedule.reason." + d.reason) ? t("schedule.reason." + d.reason) : d.reason) : "",
  });
  const target = d.activity === "transferred" ? (d.user_id ? t("activity.to_user", { user: person(d.user_id) }) : t("activity.to_queue", { queue: queue(d.queue_id) })) : "";
  const note = d.note ? t("activity.note", { note: d.note }) : "";
  return [text, target, note].filter(Boolean).join(" ");
}

/** The whole row of one message. */
export function renderMessage(message, ctx) {
  const kind = message.type === "note" ? "note" : message.type === "system" ? "system" : message.direction === "in" ? "in" : "out";
  if (kind === "system") {
    return h("div", { class: "msg msg-system", test: "message-system", dataset: { messageId: message.id } },
      h("span", { class: "system-pill" }, richText(message.text || "")));
  }
  if (message.type === "activity") {
    return h("div", { class: "msg msg-system msg-activity", test: "message-activity", dataset: { messageId: message.id, activity: (message.details || {}).activity || "" } },
      h("span", { class: "system-pill" }, activityText(message),
        h("time", { class: "activity-time", datetime: message.created_at, text: " · " + time(message.created_at) })));
  }
  if (message.type === "reaction") {
    // Shown on the message it reacts to; here only when that message is not loaded.
    const emoji = message.reaction && message.reaction.emoji;
    return h("div", { class: "msg msg-system", dataset: { messageId: message.id } },
      h("span", { class: "system-pill", text: emoji ? t("msg.reacted", { emoji }) : t("msg.reaction_removed") }));
  }
  const outbound = kind === "out";
  const bubble = h("div", { class: "bubble" });
  if (kind === "note") {
    bubble.appendChild(h("span", { class: "note-label", test: "note-label" }, icon("note"),
      t("msg.note"), message.author_id ? ` · ${userName(message.author_id) || message.author_name || ""}` : ""));
  } else if (outbound && ctx.showAuthors && message.author_id && message.author_id !== ctx.me) {
    bubble.appendChild(h("span", { class: "msg-author", text: userName(message.author_id) || message.author_name || "" }));
  }
  const details = message.details || {};
  const quoted = quote(message, ctx);
  if (quoted && !details.deleted_at) bubble.appendChild(quoted);
  if (details.deleted_at) {
    // The customer deleted it: its content is gone, as on WhatsApp.
    bubble.appendChild(h("em", { class: "muted msg-deleted", test: "message-deleted", text: t("msg.deleted") }));
  } else {
    for (const part of content(message, ctx)) bubble.appendChild(part);
    if (message.media && message.media.unverified) {
      bubble.appendChild(h("span", { class: "msg-error", test: "media-unverified", role: "note", text: t("msg.unverified") }));
    }
  }
  if (message.status === "failed" && message.error) {
    bubble.appendChild(h("span", { class: "msg-error", test: "message-error", role: "note", text: message.error.title }));
  }
  if (message.localError) {
    bubble.appendChild(h("button", { type: "button", class: "btn btn-small", test: "retry-send", text: t("msg.retry"),
      on: { click: () => ctx.onRetry(message) } }));
  }
  const earlier = Array.isArray(details.edits) ? details.edits.map((e) => e.text).filter(Boolean) : [];
  bubble.appendChild(h("span", { class: "msg-meta" },
    details.edited_at && !details.deleted_at
      ? h("span", { class: "msg-flag", test: "message-edited", title: earlier.length ? t("msg.edited_before", { text: earlier.join(" → ") }) : "", text: t("msg.edited") })
      : null,
    details.from_business_app ? h("span", { class: "msg-flag", test: "message-from-phone", text: t("msg.from_phone") }) : null,
    details.forwarded ? h("span", { class: "msg-flag", test: "message-forwarded", text: t("msg.forwarded") }) : null,
    details.pinned ? h("span", { class: "msg-flag", test: "message-pinned", title: t("msg.pinned"), text: "📌" }) : null,
    h("time", { datetime: message.timestamp || message.created_at, text: time(message.timestamp || message.created_at) }),
    outbound ? tick(message) : null));

  const actions = [];
  if (ctx.canReply && !message.local && message.type !== "note") {
    actions.push(h("button", { type: "button", class: "icon-btn msg-action", test: "reply-button", "aria-label": t("msg.reply"), title: t("msg.reply"),
      on: { click: (e) => {
        e.stopPropagation();
        ctx.onReply(message);
      } } }, icon("reply")));
  }
  if (ctx.canReply && message.direction === "in" && message.wamid) {
    actions.push(h("button", { type: "button", class: "icon-btn msg-action", test: "react-button", "aria-label": t("msg.react"), title: t("msg.react"),
      on: { click: (e) => {
        e.stopPropagation();
        ctx.onReactMenu(message, e.currentTarget);
      } } }, icon("emoji")));
  }
  const forwardable = ["text", "image", "audio", "video", "document", "sticker"].includes(message.type);
  if (ctx.onForward && !message.local && forwardable && !details.deleted_at) {
    actions.push(h("button", { type: "button", class: "icon-btn msg-action", test: "forward-button", "aria-label": t("msg.forward"), title: t("msg.forward"),
      on: { click: (e) => {
        e.stopPropagation();
        ctx.onForward(message);
      } } }, icon("forward")));
  }
  if (ctx.onPin && !message.local && message.type !== "activity") {
    const pinned = !!details.pinned;
    actions.push(h("button", { type: "button", class: ["icon-btn", "msg-action", pinned && "active"], test: "pin-button", "aria-pressed": String(pinned),
      "aria-label": pinned ? t("msg.unpin") : t("msg.pin"), title: pinned ? t("msg.unpin") : t("msg.pin"),
      on: { click: (e) => {
        e.stopPropagation();
        ctx.onPin(message, !pinned);
      } } }, icon("pin")));
  }
  return h("div", {
    class: ["msg", `msg-${kind}`, message.local && "msg-local"],
    test: "message-bubble",
    dataset: { messageId: message.id, direction: message.direction, type: message.type, status: message.status, clientId: message.client_id },
  },
  h("div", { class: "msg-wrap" }, bubble, actions.length ? h("div", { class: "msg-actions" }, actions) : null),
  reactionsRow(message, ctx));
}
