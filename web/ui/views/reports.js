// Reports (staff): a date range, the figures of the summary, charts drawn as SVG from the
// API's numbers (messages per day, chats opened and closed, first response and resolution
// per agent, satisfaction), the per-agent and per-queue tables, and a CSV of it all.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import * as api from "../api.js";
import { duration, number } from "../format.js";
import { toast, errorText } from "./ui.js";
import { downloadBlob } from "../media.js";

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children) if (child) el.appendChild(child);
  return el;
}

function text(x, y, content, attrs) {
  const el = svg("text", { x, y, ...attrs });
  el.textContent = content;
  return el;
}

/** Grouped bars per day: `series` [{key, label, cls}] from `days`. */
export function barChart(days, series, { height = 180, test } = {}) {
  const width = Math.max(320, days.length * (series.length * 8 + 8) + 50);
  const max = Math.max(1, ...days.flatMap((d) => series.map((s) => d[s.key] || 0)));
  const plot = height - 30;
  const group = (width - 50) / Math.max(1, days.length);
  const bar = Math.max(2, Math.min(14, (group - 4) / series.length));
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "xMinYMin meet", class: "chart", role: "img", "data-testid": test || "chart", "data-max": max });
  chart.appendChild(svg("line", { x1: 40, y1: plot, x2: width, y2: plot, class: "axis" }));
  chart.appendChild(text(36, 12, number(max), { class: "axis-label", "text-anchor": "end" }));
  chart.appendChild(text(36, plot, "0", { class: "axis-label", "text-anchor": "end" }));
  days.forEach((d, i) => {
    series.forEach((s, j) => {
      const value = d[s.key] || 0;
      const barHeight = (value / max) * (plot - 10);
      const rect = svg("rect", { x: 44 + i * group + j * bar, y: plot - barHeight, width: bar - 1, height: barHeight, class: s.cls, "data-value": value });
      rect.appendChild(Object.assign(document.createElementNS(SVG_NS, "title"), { textContent: `${d.date} · ${s.label}: ${value}` }));
      chart.appendChild(rect);
    });
    const step = Math.ceil(days.length / 10);
    if (i % step === 0) chart.appendChild(text(44 + i * group, height - 10, d.date.slice(5), { class: "axis-label" }));
  });
  return chart;
}

/** Horizontal bars, one per row: [{label, value, shown}]. */
export function rowChart(rows, { test } = {}) {
  const height = rows.length * 24 + 8;
  const max = Math.max(1, ...rows.map((r) => r.value || 0));
  const chart = svg("svg", { viewBox: `0 0 480 ${height}`, preserveAspectRatio: "xMinYMin meet", class: "chart row-chart", role: "img", "data-testid": test || "row-chart" });
  rows.forEach((r, i) => {
    const y = 4 + i * 24;
    chart.appendChild(text(0, y + 15, r.label, { class: "axis-label" }));
    chart.appendChild(svg("rect", { x: 140, y, width: Math.max(1, ((r.value || 0) / max) * 260), height: 18, class: "bar-a", "data-value": r.value || 0 }));
    chart.appendChild(text(406, y + 15, r.shown, { class: "axis-label" }));
  });
  return chart;
}

const iso = (d) => d.toISOString().slice(0, 10);

export function createReportsView() {
  const today = new Date();
  const monthAgo = new Date(Date.now() - 29 * 86400000);
  const from = h("input", { type: "date", test: "reports-from", value: iso(monthAgo) });
  const to = h("input", { type: "date", test: "reports-to", value: iso(today) });
  const body = h("div", { class: "reports-body", test: "reports-body" });
  let summary = null;
  const el = h("div", { class: "page reports", test: "reports" },
    h("header", { class: "page-head section-head" },
      h("h1", { text: t("reports.title") }),
      h("div", { class: "form-actions" },
        h("label", { class: "inline-field" }, h("span", { text: t("reports.from") }), from),
        h("label", { class: "inline-field" }, h("span", { text: t("reports.to") }), to),
        h("button", { type: "button", class: "btn", test: "reports-csv", text: t("reports.csv"), on: { click: csv } }))),
    body);

  const seconds = (s) => (s === null || s === undefined ? "—" : duration(s));
  const stars = (v) => (v === null || v === undefined ? "—" : v.toFixed(2));

  function card(label, value, test) {
    return h("div", { class: "stat" }, h("div", { class: "stat-value", test, text: value }), h("div", { class: "stat-label", text: label }));
  }

  /** Every day of the range, the days without a counter as zeros. */
  function allDays(s) {
    const known = new Map(s.per_day.map((d) => [d.date, d]));
    const days = [];
    for (let at = new Date(s.from + "T00:00:00Z"); iso(at) <= s.to; at = new Date(at.getTime() + 86400000)) {
      const date = iso(at);
      days.push(known.get(date) || { date, chats_opened: 0, chats_closed: 0, messages_in: 0, messages_out: 0 });
    }
    return days;
  }

  function render(s) {
    const days = allDays(s);
    body.replaceChildren(
      h("section", { class: "page-section" },
        h("div", { class: "stats" },
          card(t("reports.opened"), number(s.chats_opened), "report-opened"),
          card(t("reports.closed"), number(s.chats_closed), "report-closed"),
          card(t("reports.messages_in"), number(s.messages_in), "report-in"),
          card(t("reports.messages_out"), number(s.messages_out), "report-out"),
          card(t("reports.first_response"), seconds(s.avg_first_response_seconds), "report-first-response"),
          card(t("reports.resolution"), seconds(s.avg_resolution_seconds), "report-resolution"),
          card(t("reports.resolution_rate"), s.resolution_rate === null ? "—" : `${Math.round(s.resolution_rate * 100)}%`, "report-rate"),
          card(t("reports.csat"), s.csat_responses ? `${stars(s.csat_average)} (${number(s.csat_responses)})` : "—", "report-csat"))),
      h("section", { class: "page-section" },
        h("h2", { text: t("reports.messages_per_day") }),
        barChart(days, [
          { key: "messages_in", label: t("reports.messages_in"), cls: "bar-a" },
          { key: "messages_out", label: t("reports.messages_out"), cls: "bar-b" },
        ], { test: "chart-messages" }),
        legend([["bar-a", t("reports.messages_in")], ["bar-b", t("reports.messages_out")]])),
      h("section", { class: "page-section" },
        h("h2", { text: t("reports.chats_per_day") }),
        barChart(days, [
          { key: "chats_opened", label: t("reports.opened"), cls: "bar-a" },
          { key: "chats_closed", label: t("reports.closed"), cls: "bar-b" },
        ], { test: "chart-chats" }),
        legend([["bar-a", t("reports.opened")], ["bar-b", t("reports.closed")]])),
      h("section", { class: "page-section" },
        h("h2", { text: t("reports.per_agent") }),
        s.per_agent.length ? rowChart(s.per_agent.map((a) => ({ label: a.name, value: a.avg_first_response_seconds, shown: seconds(a.avg_first_response_seconds) })), { test: "chart-first-response" }) : null,
        h("div", { class: "table-wrap" },
          h("table", { class: "table", test: "report-agents" },
            h("thead", null, h("tr", null, ["reports.agent", "reports.closed", "reports.messages_out", "reports.first_response", "reports.resolution", "reports.csat"].map((k) => h("th", { scope: "col", text: t(k) })))),
            h("tbody", null, s.per_agent.map((a) => h("tr", null,
              h("td", { text: a.name }), h("td", { text: number(a.chats_closed) }), h("td", { text: number(a.messages_out) }),
              h("td", { text: seconds(a.avg_first_response_seconds) }), h("td", { text: seconds(a.avg_resolution_seconds) }),
              h("td", { text: a.csat_responses ? `${stars(a.csat_average)} (${a.csat_responses})` : "—" }))))))),
      s.per_queue.length ? h("section", { class: "page-section" },
        h("h2", { text: t("reports.per_queue") }),
        rowChart(s.per_queue.map((q) => ({ label: q.name, value: q.csat_average, shown: `${stars(q.csat_average)} (${q.csat_responses})` })), { test: "chart-csat" })) : null);
  }

  function legend(items) {
    return h("ul", { class: "legend" }, items.map(([cls, label]) => h("li", null, h("span", { class: ["swatch", cls], "aria-hidden": "true" }), h("span", { text: label }))));
  }

  async function load() {
    try {
      summary = await api.get("/reports/summary" + api.query({ from: from.value, to: to.value }));
      render(summary);
    } catch (err) {
      body.replaceChildren(h("p", { class: "form-error", text: errorText(err) }));
    }
  }

  function csv() {
    if (!summary) return;
    const quote = (v) => `"${String(v ?? "").replace(/"/g, '""')}"`;
    const lines = [["date", "chats_opened", "chats_closed", "messages_in", "messages_out", "csat_responses", "csat_average"].join(",")];
    for (const d of summary.per_day) lines.push([d.date, d.chats_opened, d.chats_closed, d.messages_in, d.messages_out, d.csat_responses, d.csat_average ?? ""].join(","));
    lines.push("", ["agent", "chats_closed", "messages_out", "avg_first_response_seconds", "avg_resolution_seconds", "csat_responses", "csat_average"].join(","));
    for (const a of summary.per_agent) lines.push([quote(a.name), a.chats_closed, a.messages_out, a.avg_first_response_seconds ?? "", a.avg_resolution_seconds ?? "", a.csat_responses, a.csat_average ?? ""].join(","));
    const csvFile = new Blob(["\ufeff" + lines.join("\n") + "\n"], { type: "text/csv" });
    downloadBlob(csvFile, `relatorio-${summary.from}-${summary.to}.csv`);
    toast(t("reports.csv_done"), "success");
  }

  from.addEventListener("change", load);
  to.addEventListener("change", load);
  load();
  return { el, show() {}, destroy() {} };
}
