// Admin: the click-to-chat QR code for posters and counters. The hub draws it
// (GET /api/v1/qr.svg); it is fetched with the session's token into a blob: URL.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { field, errorText } from "./ui.js";

export function createQrSection() {
  let url = null;
  let timer = null;
  let generation = 0;
  const text = h("input", { type: "text", maxlength: "300", test: "qr-text", placeholder: t("qr.text_placeholder") });
  const textField = field(t("qr.text"), text, { name: "text", hint: t("qr.text_hint") });
  const image = h("img", { class: "qr-image", test: "qr-image", alt: t("qr.alt"), hidden: true });
  const download = h("a", { class: "btn btn-primary", test: "qr-download", download: "whatsapp-qr.svg", text: t("qr.download"), hidden: true });
  const problem = h("p", { class: "muted", test: "qr-problem", hidden: true });
  const el = h("section", { class: "admin-section", test: "admin-qr-section" },
    h("div", { class: "section-head" }, h("h2", { text: t("qr.title") })),
    h("p", { class: "muted", text: t("qr.explain") }),
    textField,
    h("div", { class: "qr-preview" }, image, problem),
    h("div", { class: "form-actions" }, download));

  async function load() {
    const mine = ++generation;
    textField.setError("");
    try {
      const svg = await api.blob("/qr.svg" + api.query({ text: text.value.trim() }));
      if (mine !== generation) return;
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(svg);
      image.src = url;
      download.href = url;
      image.hidden = false;
      download.hidden = false;
      problem.hidden = true;
    } catch (error) {
      if (mine !== generation) return;
      if (error.fields && error.fields.text) {
        textField.setError(error.fields.text);
        return;
      }
      image.hidden = true;
      download.hidden = true;
      problem.hidden = false;
      problem.textContent = error.status === 404 ? t("qr.no_number") : errorText(error);
    }
  }

  text.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 400);
  });
  load();

  return {
    el,
    destroy() {
      clearTimeout(timer);
      generation++;
      if (url) URL.revokeObjectURL(url);
    },
  };
}
