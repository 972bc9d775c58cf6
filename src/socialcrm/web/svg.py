"""Plots drawn on the server as inline SVG: no JavaScript library, no CDN, printable.

Each function takes plain series and returns an ``<svg>`` string; every mark carries a
``<title>`` so hovering shows its value. Text is escaped; numbers are formatted briefly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = (
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2",
    "#ca8a04", "#db2777", "#4b5563", "#65a30d", "#7c3aed", "#0d9488",
)  # fmt: skip


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def fmt(v: float | None) -> str:
    """A short human number: 1234 → 1.2k, 0.4567 → 0.457."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.1f}M"
    if a >= 1e4:
        return f"{v / 1e3:.0f}k"
    if a >= 1e3:
        return f"{v / 1e3:.1f}k"
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.3g}"


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    out, v = [], start
    while v <= hi + step * 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def _frame(width: int, height: int, label: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="100%" role="img" aria-label="{escape(label)}" class="plot">',
        f"<title>{escape(label)}</title>",
    ]


def line_chart(
    series: dict[str, Sequence[tuple[str, float | None]]],
    *,
    label: str,
    width: int = 640,
    height: int = 260,
    y_min: float | None = None,
    y_max: float | None = None,
    zero_line: bool = False,
    y_format: str = "",
) -> str:
    """Lines over a shared categorical x axis (periods), one colour per series, with legend."""
    xs = sorted({x for pts in series.values() for x, _ in pts})
    values = [v for pts in series.values() for _, v in pts if v is not None]
    lo = min(values, default=0.0) if y_min is None else y_min
    hi = max(values, default=1.0) if y_max is None else y_max
    if hi == lo:
        hi = lo + 1
    left, right, top, bottom = 48, 12, 12, 48
    pw, ph = width - left - right, height - top - bottom
    xi = {x: i for i, x in enumerate(xs)}

    def px(x: str) -> float:
        return left + (pw * xi[x] / max(len(xs) - 1, 1))

    def py(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    out = _frame(width, height, label)
    for t in _ticks(lo, hi):
        y = py(t)
        text = f"{t:.0%}" if y_format == "%" else fmt(t)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{text}</text>'
        )
    if zero_line and lo < 0 < hi:
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{py(0):.1f}" y2="{py(0):.1f}"'
            ' class="zero"/>'
        )
    step = max(1, len(xs) // 6)
    for x in xs[::step]:
        out.append(
            f'<text x="{px(x):.1f}" y="{height - bottom + 16}" text-anchor="middle"'
            f' class="tick">{escape(x)}</text>'
        )
    for i, (name, pts) in enumerate(series.items()):
        c = color(i)
        coords = [(px(x), py(v), x, v) for x, v in pts if v is not None]
        if len(coords) > 1:
            d = " ".join(f"{a:.1f},{b:.1f}" for a, b, _, _ in coords)
            out.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2"/>')
        for a, b, x, v in coords:
            out.append(
                f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{c}" class="point">'
                f"<title>{escape(name)} · {escape(x)}: {fmt(v)}</title></circle>"
            )
    out.extend(_legend(list(series), left, height - 14, width - left - right))
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    groups: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    label: str,
    width: int = 640,
    height: int = 260,
    percent: bool = False,
    notes: Sequence[str] | None = None,
) -> str:
    """Grouped vertical bars: one group per category, one bar per series."""
    values = [v for vs in series.values() for v in vs if v is not None]
    hi = max(values, default=1.0) or 1.0
    left, right, top, bottom = 48, 12, 12, 48
    pw, ph = width - left - right, height - top - bottom
    gw = pw / max(len(groups), 1)
    bw = gw * 0.8 / max(len(series), 1)
    out = _frame(width, height, label)
    for t in _ticks(0, hi):
        y = top + ph * (1 - t / hi)
        text = f"{t:.0%}" if percent else fmt(t)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{text}</text>'
        )
    for g, name in enumerate(groups):
        gx = left + g * gw + gw * 0.1
        for s, (sname, vs) in enumerate(series.items()):
            v = vs[g] if g < len(vs) else None
            if v is None:
                continue
            h = ph * v / hi
            x = gx + s * bw
            text = f"{v:.1%}" if percent else fmt(v)
            note = f" ({notes[g]})" if notes and g < len(notes) and notes[g] else ""
            out.append(
                f'<rect x="{x:.1f}" y="{top + ph - h:.1f}" width="{bw * 0.92:.1f}"'
                f' height="{h:.1f}" fill="{color(s)}" class="bar">'
                f"<title>{escape(sname)} · {escape(name)}: {text}{escape(note)}</title></rect>"
            )
        out.append(
            f'<text x="{left + g * gw + gw / 2:.1f}" y="{height - bottom + 16}"'
            f' text-anchor="middle" class="tick">{escape(name)}</text>'
        )
    if len(series) > 1:
        out.extend(_legend(list(series), left, height - 14, pw))
    out.append("</svg>")
    return "".join(out)


def sparkline(
    values: Sequence[float],
    *,
    label: str,
    width: int = 240,
    height: int = 48,
    lo: float = -1.0,
    hi: float = 1.0,
) -> str:
    """A small line of values in [lo, hi] with the zero line (sentiment trajectories)."""
    out = _frame(width, height, label)
    if not values:
        out.append("</svg>")
        return "".join(out)

    def py(v: float) -> float:
        return 4 + (height - 8) * (1 - (v - lo) / (hi - lo))

    step = (width - 8) / max(len(values) - 1, 1)
    pts = " ".join(f"{4 + i * step:.1f},{py(v):.1f}" for i, v in enumerate(values))
    out.append(f'<line x1="4" x2="{width - 4}" y1="{py(0):.1f}" y2="{py(0):.1f}" class="zero"/>')
    out.append(f'<polyline points="{pts}" fill="none" stroke="{color(0)}" stroke-width="1.5"/>')
    for i, v in enumerate(values):
        c = "#16a34a" if v > 0.05 else "#dc2626" if v < -0.05 else "#6b7280"
        out.append(
            f'<circle cx="{4 + i * step:.1f}" cy="{py(v):.1f}" r="2" fill="{c}">'
            f"<title>{fmt(v)}</title></circle>"
        )
    out.append("</svg>")
    return "".join(out)


def _legend(names: list[str], x0: float, y: float, width: float) -> list[str]:
    out, x = [], x0
    for i, name in enumerate(names):
        text = escape(name[:24])
        out.append(
            f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="10" height="10" fill="{color(i)}"/>'
            f'<text x="{x + 14:.1f}" y="{y + 1:.1f}" class="legend">{text}</text>'
        )
        x += 22 + 7 * len(name[:24])
        if x > x0 + width:
            break
    return out
