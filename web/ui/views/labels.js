// Labels: a chat's or contact's tags as chips in the colour the admin gave them, and the
// picker that chooses them.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { state } from "../state.js";
import { dialog } from "./ui.js";

/** The admin's colour of a tag, or null for a tag with no label. */
export function labelColor(name) {
  const lower = String(name).toLowerCase();
  const label = state.labels.find((l) => l.name.toLowerCase() === lower);
  return label ? label.color : null;
}

/** A tag as a chip, coloured when it is a label. */
export function labelChip(name) {
  const chip = h("span", { class: "chip label-chip", test: "label-chip", text: name });
  const color = labelColor(name);
  if (color) {
    // Through the CSSOM: the strict policy refuses style attributes.
    chip.style.setProperty("--label-color", color);
    chip.classList.add("coloured");
  }
  return chip;
}

/**
 * Chooses tags among the labels (and keeps the ones without a label). `onSave(tags)` may
 * throw to keep the dialog open with its message.
 */
export function pickLabels({ title, current, onSave }) {
  const chosen = new Set((current || []).map((tag) => tag.toLowerCase()));
  const names = [...state.labels.map((l) => l.name), ...(current || []).filter((tag) => !labelColor(tag))];
  const boxes = names.map((name) => {
    const input = h("input", { type: "checkbox", checked: chosen.has(name.toLowerCase()), test: "label-option", value: name });
    return h("label", { class: "check label-option" }, input, labelChip(name));
  });
  dialog({
    title,
    test: "label-dialog",
    body: boxes.length ? boxes : h("p", { class: "muted", text: t("labels.none_defined") }),
    actions: [
      { label: t("common.cancel"), test: "label-cancel" },
      {
        label: t("common.save"), kind: "primary", test: "label-save",
        onClick: () => onSave(boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value)),
      },
    ],
  });
}
