// The composer: Enter sends, Shift+Enter breaks the line; attachments; internal notes;
// quick replies after "/"; the reply-to bar.

import { h, icon } from "../dom.js";
import { t } from "../i18n.js";
import { state } from "../state.js";
import { get } from "../api.js";

const CANNED_FRESH = 60000;

/** Re-reads the quick replies now and then (admins may have changed them). */
function refreshCanned(then) {
  if (!state.cannedAvailable || Date.now() - (state.cannedAt || 0) < CANNED_FRESH) return;
  state.cannedAt = Date.now();
  get("/canned-responses").then((page) => {
    state.canned = page.items || [];
    then();
  }).catch(() => {});
}
import { summary } from "./message.js";
import { createEmojiPicker } from "./emoji.js";

const drafts = new Map(); // chat id -> text

/**
 * options: {chatId, noteOnly, onSend(text, replyTo), onNote(text), onFile(file),
 *           onTyping(), onTemplate (shown when given)}
 */
export function createComposer(options) {
  let noteMode = !!options.noteOnly;
  let replyTo = null;
  let picks = [];
  let pickIndex = 0;

  const textarea = h("textarea", {
    class: "composer-input", test: "composer", rows: "1", "aria-label": t("composer.label"),
    placeholder: noteMode ? t("composer.note_placeholder") : t("composer.placeholder"), maxlength: "4096",
  });
  textarea.value = drafts.get(options.chatId) || "";

  const fileInput = h("input", { type: "file", class: "visually-hidden", test: "attach-input", tabindex: "-1", "aria-hidden": "true" });
  fileInput.addEventListener("change", () => {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (file) options.onFile(file);
  });
  const attach = h("button", { type: "button", class: "icon-btn", test: "attach", "aria-label": t("composer.attach"), title: t("composer.attach"),
    on: { click: () => fileInput.click() } }, icon("attach"));
  const noteToggle = h("button", { type: "button", class: "icon-btn note-toggle", test: "note-toggle", "aria-pressed": String(noteMode),
    "aria-label": t("composer.note_toggle"), title: t("composer.note_toggle"),
    on: { click: () => setNoteMode(!noteMode) } }, icon("note"));
  const templateButton = options.onTemplate
    ? h("button", { type: "button", class: "icon-btn", test: "template-open", "aria-label": t("composer.template"), title: t("composer.template"),
      on: { click: options.onTemplate } }, icon("template"))
    : null;
  // The emoji goes in where the cursor is, and the cursor after it.
  const picker = createEmojiPicker({ onPick: (emoji) => {
    const start = textarea.selectionStart ?? textarea.value.length;
    const end = textarea.selectionEnd ?? start;
    textarea.setRangeText(emoji, start, end, "end");
    textarea.dispatchEvent(new Event("input"));
    textarea.focus();
  } });
  const emojiButton = h("button", { type: "button", class: "icon-btn", test: "emoji-open", "aria-label": t("emoji.label"), title: t("emoji.label"),
    on: { click: () => picker.toggle() } }, icon("emoji"));
  const send = h("button", { type: "button", class: "icon-btn send-btn", test: "send", "aria-label": t("composer.send"), title: t("composer.send"),
    on: { click: submit } }, icon("send"));
  // With nothing written, the microphone takes the send button's place (WhatsApp's way).
  const canRecord = !!(options.onVoice && navigator.mediaDevices && window.MediaRecorder);
  const mic = h("button", { type: "button", class: "icon-btn send-btn", test: "voice-record", "aria-label": t("voice.record"), title: t("voice.record"),
    on: { click: () => startRecording() } }, icon("mic"));
  function swapSend() {
    const empty = !textarea.value.trim() && !noteMode && canRecord;
    send.hidden = empty;
    mic.hidden = !empty;
  }
  let recording = null; // {recorder, stream, parts, started, timer, cancelled}
  const clock = h("span", { class: "voice-clock", test: "voice-clock", text: "0:00" });
  const recordBar = h("div", { class: "voice-bar", test: "voice-bar", hidden: true },
    h("button", { type: "button", class: "icon-btn", test: "voice-cancel", "aria-label": t("voice.cancel"), title: t("voice.cancel"),
      on: { click: () => stopRecording(false) } }, icon("close")),
    h("span", { class: "voice-dot", "aria-hidden": "true" }),
    clock,
    h("span", { class: "voice-hint", text: t("voice.recording") }),
    h("button", { type: "button", class: "icon-btn send-btn", test: "voice-send", "aria-label": t("voice.send"), title: t("voice.send"),
      on: { click: () => stopRecording(true) } }, icon("send")));
  async function startRecording() {
    if (recording) return;
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      options.onVoiceError && options.onVoiceError(t("voice.no_microphone"));
      return;
    }
    const type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    const parts = [];
    recording = { recorder, stream, parts, started: Date.now(), send: false };
    recorder.ondataavailable = (e) => e.data.size && parts.push(e.data);
    recorder.onstop = () => {
      const done = recording;
      recording = null;
      stream.getTracks().forEach((track) => track.stop());
      clearInterval(done.timer);
      recordBar.hidden = true;
      row.hidden = false;
      if (done.send && parts.length) {
        const file = new File(parts, "voice.webm", { type: "audio/webm" });
        options.onVoice(file, (Date.now() - done.started) / 1000);
      }
    };
    recording.timer = setInterval(() => {
      const s = Math.floor((Date.now() - recording.started) / 1000);
      clock.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    }, 250);
    clock.textContent = "0:00";
    row.hidden = true;
    recordBar.hidden = false;
    recorder.start();
  }
  function stopRecording(sendIt) {
    if (!recording) return;
    recording.send = sendIt;
    recording.recorder.stop();
  }

  const replyText = h("span", { class: "reply-bar-text" });
  const replyBar = h("div", { class: "reply-bar", test: "reply-bar", hidden: true },
    h("span", { class: "reply-bar-body" }, h("strong", { text: t("composer.replying") }), replyText),
    h("button", { type: "button", class: "icon-btn", test: "reply-cancel", "aria-label": t("composer.cancel_reply"),
      on: { click: () => setReply(null) } }, icon("close")));

  const quickList = h("ul", { class: "quick-replies", test: "quick-replies", role: "listbox", "aria-label": t("composer.quick_replies"), hidden: true });

  const noteHint = h("div", { class: "note-hint", test: "note-hint", hidden: !noteMode, text: t("composer.note_hint") });

  // A quick reply with buttons: the message goes out as reply buttons the customer taps.
  let buttons = [];
  const buttonsBar = h("div", { class: "reply-bar", test: "buttons-bar", hidden: true });
  function setButtons(list) {
    buttons = list || [];
    buttonsBar.hidden = !buttons.length;
    buttonsBar.replaceChildren(
      h("span", { class: "reply-bar-body" }, h("strong", { text: t("composer.with_buttons") }),
        buttons.map((b) => h("span", { class: "chip", text: b }))),
      h("button", { type: "button", class: "icon-btn", test: "buttons-cancel", "aria-label": t("composer.without_buttons"),
        on: { click: () => setButtons([]) } }, icon("close")));
  }

  const row = h("div", { class: "composer-row" },
    emojiButton,
    options.noteOnly ? null : attach,
    noteToggle,
    templateButton,
    textarea,
    send,
    mic);
  const el = h("div", { class: ["composer", noteMode && "note-mode"] }, picker.el, quickList, replyBar, buttonsBar, noteHint, row, recordBar, fileInput);
  swapSend();

  function setNoteMode(value) {
    noteMode = options.noteOnly ? true : value;
    el.classList.toggle("note-mode", noteMode);
    noteToggle.setAttribute("aria-pressed", String(noteMode));
    noteHint.hidden = !noteMode;
    swapSend();
    textarea.placeholder = noteMode ? t("composer.note_placeholder") : t("composer.placeholder");
    if (noteMode) setReply(null);
    textarea.focus();
  }

  function setReply(message) {
    replyTo = message;
    replyBar.hidden = !message;
    replyText.textContent = message ? summary(message) : "";
    if (message && noteMode && !options.noteOnly) setNoteMode(false);
    if (message) textarea.focus();
  }

  function grow() {
    textarea.style.setProperty("height", "auto");
    textarea.style.setProperty("height", Math.min(textarea.scrollHeight, 160) + "px");
  }

  async function submit() {
    const text = textarea.value;
    if (!text.trim()) return;
    const reply = replyTo;
    const withButtons = buttons;
    textarea.value = "";
    drafts.delete(options.chatId);
    setReply(null);
    setButtons([]);
    closeQuick();
    grow();
    swapSend();
    if (noteMode) await options.onNote(text.trim());
    else await options.onSend(text, reply, withButtons);
    textarea.focus();
  }

  // Quick replies: "/" at the start lists the canned responses by shortcut.
  function updateQuick() {
    const value = textarea.value;
    if (value === "/") refreshCanned(updateQuick);
    if (!state.canned || !state.canned.length || !value.startsWith("/") || /\s/.test(value)) return closeQuick();
    const wanted = value.slice(1).toLowerCase();
    picks = state.canned.filter((c) => String(c.shortcut).replace(/^\//, "").toLowerCase().startsWith(wanted)).slice(0, 8);
    if (!picks.length) return closeQuick();
    pickIndex = Math.min(pickIndex, picks.length - 1);
    quickList.replaceChildren(...picks.map((c, i) => h("li", {
      role: "option", class: ["quick-reply", i === pickIndex && "active"], test: "quick-reply", "aria-selected": String(i === pickIndex),
      on: { mousedown: (e) => {
        e.preventDefault();
        choose(i);
      } },
    }, h("strong", { text: "/" + String(c.shortcut).replace(/^\//, "") }), h("span", { text: c.text }))));
    quickList.hidden = false;
  }

  function closeQuick() {
    picks = [];
    pickIndex = 0;
    quickList.hidden = true;
  }

  function choose(i) {
    const pick = picks[i];
    if (!pick) return;
    textarea.value = pick.text;
    if (!noteMode) setButtons(pick.buttons);
    closeQuick();
    grow();
    swapSend();
    textarea.focus();
  }

  textarea.addEventListener("input", () => {
    drafts.set(options.chatId, textarea.value);
    swapSend();
    grow();
    updateQuick();
    if (!noteMode && textarea.value) options.onTyping();
  });

  textarea.addEventListener("keydown", (e) => {
    if (!quickList.hidden && picks.length) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        pickIndex = (pickIndex + (e.key === "ArrowDown" ? 1 : picks.length - 1)) % picks.length;
        updateQuick();
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        choose(pickIndex);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        closeQuick();
        return;
      }
    }
    if (e.key === "Escape" && replyTo) {
      setReply(null);
      return;
    }
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });

  // Paste an image straight from the clipboard.
  textarea.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData ? e.clipboardData.items : [])].find((i) => i.kind === "file");
    if (item && !options.noteOnly) {
      const file = item.getAsFile();
      if (file) {
        e.preventDefault();
        options.onFile(file);
      }
    }
  });

  requestAnimationFrame(grow);

  return {
    el,
    setReply,
    /** Stops a recording in progress without sending it (leaving the chat). */
    destroy: () => stopRecording(false),
    focus: () => textarea.focus(),
    get replyTo() {
      return replyTo;
    },
  };
}
