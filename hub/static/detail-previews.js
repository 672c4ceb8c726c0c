// Diffraction previews in the detail view (issue 22): the stored picture of a frame with resolution rings,
// ice rings and the beam centre drawn over it, the resolution under a click, and a chart of a per-image
// series beside it. Pictures come from /previews/{image set id}/... (the hub forwards them to the site
// with the caller's identity); they are fetched with the caller's token and shown as blob URLs.

import { token } from "./api.js";
import { h, s } from "./dom.js";

/** What the detail query asks of each ImageSet (the Capabilities select drops what a hub lacks). */
export const PREVIEW_FIELDS = {
  previews: "kind frame size width height binning url",
  countsPerImage: "image counts",
};

const SIZE = 512;

async function authorised(url) {
  const headers = {};
  const bearer = token();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const response = await fetch(url, { headers });
  if (!response.ok) {
    let why = `HTTP ${response.status}`;
    try { why = (await response.json()).errors[0].message; } catch { /* not JSON */ }
    throw new Error(why);
  }
  return response;
}

/** d (Å) at pixel position (x, y) from the geometry the site sends (its `formula`). */
export function resolutionAt(g, x, y) {
  const p = [0, 1, 2].map((i) => g.origin[i] + g.fast[i] * g.fastStep * x + g.slow[i] * g.slowStep * y);
  const len = Math.hypot(p[0], p[1], p[2]);
  const cos2t = (p[0] * g.beam[0] + p[1] * g.beam[1] + p[2] * g.beam[2]) / len;
  const twoTheta = Math.acos(Math.max(-1, Math.min(1, cos2t)));
  return twoTheta < 1e-9 ? Infinity : g.wavelength / (2 * Math.sin(twoTheta / 2));
}

/** A per-image series as [[image, value]]: total counts from the indexer, or spots from image quality. */
export function seriesOf(points) {
  return (points || []).map((p) => [p.image ?? p.imageNumber, p.counts ?? p.spotTotal ?? p.value])
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
}

function chart(points, label) {
  const data = seriesOf(points);
  if (!data.length) return h("p", { class: "muted" }, `No ${label.toLowerCase()} recorded.`);
  const W = 320, H = 200, L = 56, B = 28;
  const xs = data.map((d) => d[0]), ys = data.map((d) => d[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y1 = Math.max(...ys, 1);
  const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - 8), Y = (y) => H - B - (y / y1) * (H - B - 8);
  return s("svg", { viewBox: `0 0 ${W} ${H}`, class: "series", role: "img", "aria-label": `${label} per image` },
    s("title", {}, `${label} per image`),
    s("line", { x1: L, y1: H - B, x2: W - 8, y2: H - B, stroke: "currentColor" }),
    s("line", { x1: L, y1: 8, x2: L, y2: H - B, stroke: "currentColor" }),
    s("text", { x: L - 4, y: 14, "text-anchor": "end", "font-size": 10 }, y1.toExponential(1)),
    s("text", { x: L - 4, y: H - B, "text-anchor": "end", "font-size": 10 }, "0"),
    s("text", { x: X(x0), y: H - 8, "font-size": 10 }, String(x0)),
    s("text", { x: X(x1), y: H - 8, "text-anchor": "end", "font-size": 10 }, `${x1} (image)`),
    s("polyline", { points: data.map(([x, y]) => `${X(x)},${Y(y)}`).join(" "), fill: "none", stroke: "#0072B2" }),
    data.map(([x, y]) => s("circle", { cx: X(x), cy: Y(y), r: 3, fill: "#0072B2" }, s("title", {}, `image ${x}: ${y}`))));
}

function overlay(g, p) {
  const k = p.binning;
  const at = ([x, y]) => `${((x + 0.5) / k).toFixed(1)},${((y + 0.5) / k).toFixed(1)}`;
  const ring = (r, colour) => s("g", { class: `ring ${r.kind}` },
    s("polyline", { points: r.points.map(at).join(" "), fill: "none", stroke: colour, "stroke-width": 1,
      "stroke-dasharray": r.kind === "ice" ? "3 3" : null }),
    s("title", {}, `${r.kind === "ice" ? "ice ring " : ""}${r.d} Å`));
  const labels = g.rings.map((r) => {
    const inside = r.points.find(([x, y]) => x >= 0 && y >= 0 && x < g.nx && y < g.ny);
    if (!inside) return null;
    const [u, v] = at(inside).split(",");
    return s("text", { x: u, y: v, fill: "#D55E00", "font-size": 11 }, `${r.d} Å`);
  });
  const bc = g.beamCentre ? at(g.beamCentre).split(",") : null;
  return s("svg", { class: "rings", viewBox: `0 0 ${p.width} ${p.height}`, "aria-hidden": "true" },
    g.rings.map((r) => ring(r, "#D55E00")), g.iceRings.map((r) => ring(r, "#56B4E9")), labels,
    bc ? s("circle", { cx: bc[0], cy: bc[1], r: 4, fill: "none", stroke: "#009E73", "stroke-width": 2 }) : null);
}

/** The preview figure of one image set, or null when the site stored none. */
export function previewFigure(set) {
  const all = set.previews || [];
  const pictures = all.filter((p) => p.size === SIZE);
  if (!pictures.length) return null;
  const img = h("img", { alt: "", width: pictures[0].width, height: pictures[0].height });
  const stage = h("div", { class: "preview-stage" }, img);
  Object.assign(stage.style, { position: "relative", display: "inline-block", lineHeight: "0" });
  Object.assign(img.style, { maxWidth: "100%", height: "auto", cursor: "crosshair" });
  const readout = h("output", { class: "resolution", "aria-live": "polite" }, "Click the picture for the resolution there.");
  const status = h("p", { class: "muted preview-status" });
  let geometry = null;
  let shown = null;
  const draw = () => {
    stage.querySelector("svg.rings")?.remove();
    if (geometry && shown && shown.kind === "frame") {
      const svg = overlay(geometry, shown);
      // CSSOM, not a style attribute: the page's CSP allows no inline styles.
      Object.assign(svg.style, { position: "absolute", left: "0", top: "0", width: "100%", height: "100%", pointerEvents: "none" });
      stage.append(svg);
    }
  };
  const show = async (p) => {
    shown = p;
    stage.querySelector("svg.rings")?.remove();
    status.textContent = "Loading the preview…";
    try {
      const blob = await (await authorised(p.url)).blob();
      if (img.src) URL.revokeObjectURL(img.src);
      img.src = URL.createObjectURL(blob);
      img.width = p.width;
      img.height = p.height;
      img.alt = p.kind === "heatmap" ? "Heat map of total counts per frame of the grid scan" : `Diffraction image ${p.frame}`;
      status.textContent = p.kind === "heatmap" ? "Total counts per frame, row by row." : `Frame ${p.frame}; rings at the marked d-spacings, ice rings dashed.`;
      draw();
    } catch (err) {
      status.textContent = `The preview could not be loaded: ${err.message}`;
    }
  };
  img.addEventListener("click", (event) => {
    if (!geometry || !shown || shown.kind !== "frame") return;
    const box = img.getBoundingClientRect();
    const u = ((event.clientX - box.left) / box.width) * shown.width;
    const v = ((event.clientY - box.top) / box.height) * shown.height;
    const x = u * shown.binning - 0.5, y = v * shown.binning - 0.5;
    const d = resolutionAt(geometry, x, y);
    readout.textContent = `Pixel (${x.toFixed(0)}, ${y.toFixed(0)}): ${Number.isFinite(d) ? `${d.toFixed(2)} Å` : "the direct beam"}`;
  });
  const base = pictures[0].url.split("/").slice(0, 3).join("/");
  const buttons = h("div", { class: "preview-frames", role: "group", "aria-label": "Frame shown" },
    pictures.map((p) => h("button", { type: "button", onclick: () => show(p) },
      p.kind === "heatmap" ? "Heat map" : `Frame ${p.frame}`)));
  const figure = h("figure", { class: "preview", dataset: { imageSet: set.id || "" } },
    h("div", { class: "preview-picture" }, stage, buttons, readout, status),
    chart(set.countsPerImage, "Total counts"),
    h("figcaption", {}, "Stored at index time, so it outlives the raw files."));
  Object.assign(figure.style, { display: "flex", flexWrap: "wrap", gap: "1rem", alignItems: "flex-start" });
  authorised(`${base}/geometry`).then((r) => r.json()).then((g) => {
    geometry = g;
    draw();
  }).catch(() => { readout.textContent = "No geometry for rings."; });
  show(pictures.find((p) => p.kind === "frame") || pictures[0]);
  return figure;
}
