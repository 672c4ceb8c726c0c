// Pictures drawn as SVG in the page: resolution against completeness, and best resolutions per facility.

import { h, s } from "./dom.js";

// Okabe–Ito colours (distinguishable with colour-blindness), with a marker shape per site as well.
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];
const SHAPES = ["circle", "square", "triangle", "diamond"];

export function siteStyles(sites) {
  const styles = new Map();
  [...sites].sort().forEach((site, i) => styles.set(site, { colour: COLOURS[i % COLOURS.length], shape: SHAPES[i % SHAPES.length] }));
  return styles;
}

function marker(shape, x, y, colour, r = 4) {
  const common = { fill: colour, "fill-opacity": 0.75, stroke: colour };
  if (shape === "square") return s("rect", { ...common, x: x - r, y: y - r, width: 2 * r, height: 2 * r });
  if (shape === "triangle") return s("polygon", { ...common, points: `${x},${y - r - 1} ${x - r - 1},${y + r} ${x + r + 1},${y + r}` });
  if (shape === "diamond") return s("polygon", { ...common, points: `${x},${y - r - 1} ${x + r + 1},${y} ${x},${y + r + 1} ${x - r - 1},${y}` });
  return s("circle", { ...common, cx: x, cy: y, r });
}

function ticks(lo, hi, count) {
  const step0 = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(step0 || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= step0) || step0;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toFixed(6)));
  return out;
}

function legend(styles, counts) {
  return h("ul", { class: "legend" }, [...styles].map(([site, st]) =>
    h("li", {}, s("svg", { width: 14, height: 14, "aria-hidden": "true" }, marker(st.shape, 7, 7, st.colour)),
      ` ${site}${counts ? ` (${counts.get(site) || 0})` : ""}`)));
}

/** Scatter of best resolution (Å) against completeness (%): one marker per collection. */
export function resolutionCompleteness(points, caption) {
  const W = 560, H = 300, L = 52, R = 16, T = 14, B = 44;
  const styles = siteStyles(new Set(points.map((p) => p.site)));
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const x0 = Math.floor(Math.min(...xs) * 10) / 10, x1 = Math.ceil(Math.max(...xs) * 10) / 10 || x0 + 0.1;
  const y0 = Math.min(90, Math.floor(Math.min(...ys) / 5) * 5), y1 = 100;
  const px = (v) => L + ((v - x0) / ((x1 - x0) || 1)) * (W - L - R);
  const py = (v) => T + (1 - (v - y0) / ((y1 - y0) || 1)) * (H - T - B);
  const counts = new Map();
  points.forEach((p) => counts.set(p.site, (counts.get(p.site) || 0) + 1));
  const svgEl = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": caption },
    s("title", {}, caption),
    ticks(x0, x1, 6).map((t) => s("g", {},
      s("line", { x1: px(t), x2: px(t), y1: T, y2: H - B, class: "grid" }),
      s("text", { x: px(t), y: H - B + 16, "text-anchor": "middle" }, t.toFixed(2)))),
    ticks(y0, y1, 5).map((t) => s("g", {},
      s("line", { x1: L, x2: W - R, y1: py(t), y2: py(t), class: "grid" }),
      s("text", { x: L - 6, y: py(t) + 4, "text-anchor": "end" }, String(t)))),
    s("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }),
    s("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }),
    s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "label" }, "Best resolution (Å) — smaller is better"),
    s("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", class: "label", transform: `rotate(-90 14 ${(T + H - B) / 2})` }, "Completeness (%)"),
    points.map((p) => {
      const st = styles.get(p.site);
      const m = marker(st.shape, px(p.x), py(p.y), st.colour);
      m.append(s("title", {}, `${p.site} ${p.label}: ${p.x.toFixed(2)} Å, ${p.y.toFixed(1)} %`));
      return m;
    }));
  return h("figure", { class: "chart-figure", dataset: { chart: "resolution-completeness", points: points.length } },
    svgEl, legend(styles, counts), h("figcaption", {}, caption));
}

/** Small multiples: per facility, a histogram of best resolutions in 0.1 Å bins on one shared axis. */
export function resolutionBySite(points, caption) {
  const bySite = new Map();
  points.forEach((p) => { if (!bySite.has(p.site)) bySite.set(p.site, []); bySite.get(p.site).push(p.x); });
  const sites = [...bySite.keys()].sort();
  const styles = siteStyles(new Set(sites));
  const lo = Math.floor(Math.min(...points.map((p) => p.x)) * 10) / 10;
  const hi = Math.ceil(Math.max(...points.map((p) => p.x)) * 10 + 1e-9) / 10;
  const nbins = Math.max(1, Math.round((hi - lo) * 10));
  const W = 560, L = 150, R = 16, ROW = 56, T = 8, B = 40, H = T + ROW * sites.length + B;
  const bw = (W - L - R) / nbins;
  const rows = sites.map((site, i) => {
    const values = bySite.get(site).slice().sort((a, b) => a - b);
    const bins = new Array(nbins).fill(0);
    values.forEach((v) => { bins[Math.min(nbins - 1, Math.max(0, Math.floor((v - lo) * 10 + 1e-9)))] += 1; });
    const top = Math.max(...bins);
    const median = values[Math.floor(values.length / 2)];
    const y = T + i * ROW;
    return s("g", { dataset: { site } },
      s("text", { x: 4, y: y + 20, class: "label" }, site),
      s("text", { x: 4, y: y + 36, class: "small" }, `n=${values.length}, median ${median.toFixed(2)} Å`),
      s("line", { x1: L, x2: W - R, y1: y + ROW - 6, y2: y + ROW - 6, class: "axis" }),
      bins.map((count, b) => count === 0 ? null : s("rect", {
        x: L + b * bw + 1, width: Math.max(1, bw - 2), y: y + ROW - 6 - ((ROW - 12) * count) / top,
        height: ((ROW - 12) * count) / top, fill: styles.get(site).colour,
      }, s("title", {}, `${site}: ${count} collection${count === 1 ? "" : "s"} at ${(lo + b / 10).toFixed(1)}–${(lo + (b + 1) / 10).toFixed(1)} Å`))));
  });
  const axisY = T + ROW * sites.length;
  const svgEl = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": caption },
    s("title", {}, caption), rows,
    // bin edges every 0.1 Å, labelled often enough to read and sparsely enough not to collide
    Array.from({ length: nbins + 1 }, (_, b) => b).filter((b) => b % Math.ceil((nbins + 1) / 10) === 0).map((b) =>
      s("text", { x: L + b * bw, y: axisY + 14, "text-anchor": "middle" }, (lo + b / 10).toFixed(1))),
    s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "label" }, "Best resolution (Å)"));
  return h("figure", { class: "chart-figure", dataset: { chart: "resolution-by-site", sites: sites.join(",") } },
    svgEl, h("figcaption", {}, caption));
}
