// Grid scans and per-image quality in the detail view (issue 16): the grid as a heat map of spots per
// image with the X-ray centring result on it, and per-image spots and resolution for rotation data;
// Dimple's R/Rfree for the processing table. Drawn as SVG from the hub's answer; fetches nothing itself.

import { DASH, h, num, s } from "./dom.js";

/** What the detail query asks for (caps.select drops what a hub does not serve). */
export const GRID_SELECTION = {
  grid: "stepsX stepsY stepSizeX stepSizeY orientation snaked",
  imageQuality: "imageNumber spotTotal goodBraggCandidates method2Resolution",
  xrayCentring: "status centreOfMassX centreOfMassY maxVoxelX maxVoxelY boundingBoxMinX boundingBoxMaxX boundingBoxMinY boundingBoxMaxY",
};
export const MR_SELECTION = "program status rStart rEnd rFreeStart rFreeEnd";

// Viridis at five stops (perceptually uniform, readable with colour-blindness): few spots dark, many light.
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];

function colour(fraction) {
  const f = Math.min(1, Math.max(0, fraction)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(f));
  const t = f - i;
  const c = VIRIDIS[i].map((v, k) => Math.round(v + (VIRIDIS[i + 1][k] - v) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** (column, row) of the image at 0-based position `index` in the raster: the fast direction is the
 * grid's orientation, and every other line runs backwards when the scan was snaked. */
export function gridBox(index, grid) {
  const vertical = grid.orientation === "vertical";
  const fast = vertical ? grid.stepsY : grid.stepsX;
  const line = Math.floor(index / fast);
  let along = index % fast;
  if (grid.snaked && line % 2 === 1) along = fast - 1 - along;
  return vertical ? [line, along] : [along, line];
}

function heatMap(n) {
  const g = n.grid;
  const first = n.startImageNumber || 1;
  const quality = n.imageQuality || [];
  const spots = quality.map((q) => q.spotTotal || 0);
  const top = Math.max(1, ...spots);
  const BOX = Math.max(8, Math.min(36, Math.floor(520 / Math.max(g.stepsX, g.stepsY)))), L = 8, T = 8;
  const W = L + BOX * g.stepsX + 8, H = T + BOX * g.stepsY + 8;
  const caption = `Spots per image on the ${g.stepsX} × ${g.stepsY} grid` +
    (g.stepSizeX ? ` (${num(g.stepSizeX, 0)} × ${num(g.stepSizeY, 0)} µm boxes)` : "") + `, brightest ${top} spots`;
  const cells = quality.map((q) => {
    const index = q.imageNumber - first;
    if (index < 0 || index >= g.stepsX * g.stepsY) return null;
    const [x, y] = gridBox(index, g);
    return s("rect", { x: L + x * BOX, y: T + y * BOX, width: BOX, height: BOX, fill: colour((q.spotTotal || 0) / top),
      dataset: { image: q.imageNumber, spots: q.spotTotal ?? "" } },
    s("title", {}, `image ${q.imageNumber}: ${q.spotTotal ?? DASH} spots` +
      (q.method2Resolution ? `, ${num(q.method2Resolution, 2)} Å` : "")));
  });
  const found = (n.xrayCentring || []).filter((c) => c.status === "SUCCESS" && c.centreOfMassX !== null);
  const marks = found.map((c) => s("g", { class: "centring" },
    c.boundingBoxMinX !== null ? s("rect", { x: L + c.boundingBoxMinX * BOX, y: T + c.boundingBoxMinY * BOX,
      width: (c.boundingBoxMaxX - c.boundingBoxMinX + 1) * BOX, height: (c.boundingBoxMaxY - c.boundingBoxMinY + 1) * BOX,
      fill: "none", stroke: "#D55E00", "stroke-width": 2, "stroke-dasharray": "4 3" }) : null,
    s("circle", { cx: L + (c.centreOfMassX + 0.5) * BOX, cy: T + (c.centreOfMassY + 0.5) * BOX, r: Math.max(4, BOX / 4),
      fill: "none", stroke: "#D55E00", "stroke-width": 3 },
    s("title", {}, `X-ray centring: centre of mass at box (${num(c.centreOfMassX, 1)}, ${num(c.centreOfMassY, 1)})`))));
  const svgEl = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": caption },
    s("title", {}, caption), cells, marks);
  const scale = h("p", { class: "hint" }, "0 spots ", s("svg", { width: 120, height: 10, "aria-hidden": "true" },
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => s("rect", { x: k * 12, y: 0, width: 12, height: 10, fill: colour(k / 9) }))),
  ` ${top} spots` + (found.length ? " · circle: X-ray centring's centre of mass, dashed: its bounding box" : ""));
  return h("figure", { class: "chart-figure", dataset: { chart: "grid-heatmap", steps: `${g.stepsX}x${g.stepsY}`,
    images: cells.filter(Boolean).length, centred: found.length } }, svgEl, scale, h("figcaption", {}, caption));
}

function perImage(n) {
  const quality = (n.imageQuality || []).filter((q) => q.spotTotal !== null);
  const W = 560, H = 220, L = 52, R = 52, T = 12, B = 40;
  const x0 = quality[0].imageNumber, x1 = Math.max(x0 + 1, quality[quality.length - 1].imageNumber);
  const top = Math.max(1, ...quality.map((q) => q.spotTotal));
  const res = quality.map((q) => q.method2Resolution).filter((v) => v !== null && v !== undefined);
  const r0 = res.length ? Math.min(...res) : 0, r1 = res.length ? Math.max(...res) : 1;
  const px = (v) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const py = (v) => T + (1 - v / top) * (H - T - B);
  const pr = (v) => T + ((v - r0) / ((r1 - r0) || 1)) * (H - T - B);  // better (smaller) resolution higher up
  const caption = `Spots (blue) and resolution estimate (orange) on ${quality.length} images`;
  const line = (pts) => pts.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  const svgEl = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": caption },
    s("title", {}, caption),
    s("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }),
    s("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }),
    s("line", { x1: W - R, x2: W - R, y1: T, y2: H - B, class: "axis" }),
    s("text", { x: L - 6, y: T + 4, "text-anchor": "end" }, String(top)),
    s("text", { x: L - 6, y: H - B, "text-anchor": "end" }, "0"),
    res.length ? [s("text", { x: W - R + 6, y: T + 4 }, `${num(r0, 2)} Å`), s("text", { x: W - R + 6, y: H - B }, `${num(r1, 2)} Å`)] : null,
    s("text", { x: L, y: H - B + 16, "text-anchor": "middle" }, String(x0)),
    s("text", { x: W - R, y: H - B + 16, "text-anchor": "middle" }, String(x1)),
    s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "label" }, "Image number"),
    s("path", { d: line(quality.map((q) => [px(q.imageNumber), py(q.spotTotal)])), fill: "none", stroke: "#0072B2", "stroke-width": 1.5 }),
    res.length ? s("path", { d: line(quality.filter((q) => q.method2Resolution).map((q) => [px(q.imageNumber), pr(q.method2Resolution)])),
      fill: "none", stroke: "#D55E00", "stroke-width": 1.5, "stroke-dasharray": "5 3" }) : null);
  return h("figure", { class: "chart-figure", dataset: { chart: "image-quality", images: quality.length } },
    svgEl, h("figcaption", {}, caption));
}

/** The section for the detail view, or null when the collection has neither grid nor per-image data. */
export function gridSection(n) {
  const hasQuality = (n.imageQuality || []).some((q) => q.spotTotal !== null);
  if (!n.grid && !hasQuality) return null;
  const content = [];
  if (n.grid && n.grid.stepsX && n.grid.stepsY) {
    content.push(hasQuality ? heatMap(n) : h("p", { class: "muted" },
      `A ${n.grid.stepsX} × ${n.grid.stepsY} grid scan; no spot finding is recorded for its images.`));
  } else if (hasQuality) {
    content.push(perImage(n));
  }
  return h("section", { class: "card", "aria-labelledby": "grid-heading" },
    h("h3", { id: "grid-heading" }, n.grid ? "Grid scan" : "Spot finding per image"), content);
}

/** Dimple's R/Rfree after refinement for a processing result's caption, or "" when none ran. */
export function dimpleNote(result) {
  const runs = (result.mrRuns || []).filter((m) => m.status === "SUCCESS" && m.rEnd !== null);
  if (!runs.length) return "";
  const m = runs[runs.length - 1];
  return ` · ${m.program || "MR"} R/Rfree ${num(m.rEnd, 3)}/${num(m.rFreeEnd, 3)}`;
}
