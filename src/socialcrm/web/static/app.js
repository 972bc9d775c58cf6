// socialcrm dashboard: SLA countdowns and network zoom/pan. No library, no build.
"use strict";

function formatLeft(ms) {
  const late = ms < 0;
  let s = Math.abs(Math.round(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  const text = d >= 2 ? d + "d " + h + "h"
    : (d * 24 + h ? d * 24 + h + "h " : "") + (d || h || m ? m + "m " : "") + s + "s";
  return late ? "late by " + text : text + " left";
}

// The server's routing clock at render (a historical workspace runs "as of" its newest
// interaction), advanced by the time this page has been open.
const clockTable = document.querySelector("[data-now]");
const clockStart = clockTable ? Date.parse(clockTable.dataset.now) : NaN;
const clockOffset = Number.isNaN(clockStart) ? 0 : clockStart - Date.now();

function tickSla() {
  document.querySelectorAll(".sla[data-due]").forEach((el) => {
    const due = Date.parse(el.dataset.due);
    if (Number.isNaN(due)) return;
    const left = due - (Date.now() + clockOffset);
    el.textContent = formatLeft(left);
    el.classList.toggle("late", left < 0);
    el.classList.toggle("soon", left >= 0 && left < 15 * 60 * 1000);
  });
}

function zoomPan(svg) {
  const g = svg.querySelector("g.viewport");
  if (!g) return;
  let scale = 1, tx = 0, ty = 0, drag = null;
  const apply = () => g.setAttribute("transform", `translate(${tx} ${ty}) scale(${scale})`);
  const point = (ev) => {
    const p = svg.createSVGPoint(); p.x = ev.clientX; p.y = ev.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  };
  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const p = point(ev), k = ev.deltaY < 0 ? 1.15 : 1 / 1.15;
    const next = Math.min(8, Math.max(0.3, scale * k));
    tx = p.x - (p.x - tx) * (next / scale); ty = p.y - (p.y - ty) * (next / scale);
    scale = next; apply();
  }, { passive: false });
  svg.addEventListener("pointerdown", (ev) => {
    if (ev.target.closest("a")) return;
    const p = point(ev); drag = { x: p.x - tx, y: p.y - ty };
    svg.setPointerCapture(ev.pointerId);
  });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const p = point(ev); tx = p.x - drag.x; ty = p.y - drag.y; apply();
  });
  svg.addEventListener("pointerup", () => { drag = null; });
}

document.addEventListener("DOMContentLoaded", () => {
  tickSla();
  if (document.querySelector(".sla[data-due]")) setInterval(tickSla, 1000);
  document.querySelectorAll("svg.network").forEach(zoomPan);
});
