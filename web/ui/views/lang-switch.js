// The language switch (Português / English).

import { h } from "../dom.js";
import { t, lang, setLang, LANGUAGES } from "../i18n.js";

export function langSwitch(cls) {
  const select = h("select", { class: ["lang-switch", cls], test: "lang-switch", "aria-label": t("lang.label"), value: lang() },
    Object.keys(LANGUAGES).map((code) => h("option", { value: code, text: t("lang." + code), selected: code === lang() })));
  select.addEventListener("change", () => setLang(select.value));
  return select;
}
