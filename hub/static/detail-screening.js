// The detail view's characterisation part: strategies (a table), energy scans (f′/f″ markers as an
// SVG chart), XRF spectra and the sample's diffraction plan (schema 1.2.0). Asks only for what the
// hub's schema has, so an older hub simply shows nothing here.

import { gql } from "./api.js";
import { clear, DASH, h, int, measured, num, s } from "./dom.js";

const SUB = "rotationAxis axisStart axisEnd oscillationRange exposureTime transmission numberOfImages completeness multiplicity resolution dose";
const SCAN = "localId element edge startEnergy endEnergy peakEnergy inflectionEnergy transmission exposureTime choochFile";
const SPECTRUM = "localId energy exposureTime transmission elements spectrumFile";
const PLAN = "experimentKind requiredResolution requiredCompleteness requiredMultiplicity anomalous anomalousScatterer preferredBeamSizeX preferredBeamSizeY numberOfPositions comments";

function screeningQuery(caps) {
  const dc = caps.select("DataCollection", {
    screenings: {
      _: "localId program shortComments comments notes",
      outputs: {
        _: "indexingSuccess mosaicity spotsFound statusDescription",
        lattices: { _: "spaceGroup", cell: "a b c alpha beta gamma" },
        strategies: { _: "program anomalous", wedges: { _: "number", subWedges: SUB } },
      },
    },
    session: { energyScans: { _: SCAN, points: "kind energy fPrime fDoublePrime" }, xrfSpectra: SPECTRUM },
    sample: { diffractionPlan: PLAN },
    diffractionPlan: PLAN,
  });
  return dc ? `query Screening($id: ID!) { node(id: $id) { ... on DataCollection ${dc} } }` : null;
}

function section(title, id, ...content) {
  return h("section", { class: "card", "aria-labelledby": id, dataset: { part: id } }, h("h3", { id }, title), content);
}

/** A section filled once the hub answers; nothing when the hub's schema has none of these fields. */
export function screeningSection(caps, id) {
  const query = screeningQuery(caps);
  if (!query) return null;
  const body = h("div", {}, h("p", { role: "status", class: "muted" }, "Loading characterisation and scans…"));
  const el = section("Characterisation and scans", "screening-heading", body);
  gql(query, { id }).then(
    (answer) => fill(clear(body), caps, (answer.data && answer.data.node) || {}),
    (err) => clear(body).append(h("p", { class: "error", role: "alert" }, `Could not load them: ${err.message}`)),
  );
  return el;
}

function fill(root, caps, n) {
  const scans = (n.session && n.session.energyScans) || [];
  const spectra = (n.session && n.session.xrfSpectra) || [];
  const own = n.diffractionPlan; // the plan the collection was made under, else the sample's
  const plan = own || (n.sample && n.sample.diffractionPlan);
  const parts = [strategiesTable(caps, n.screenings || []), scans.map((x) => scanFigure(caps, x)),
    spectraTable(caps, spectra), plan ? planTable(caps, plan, own ? "Diffraction plan of this collection" : "Diffraction plan of the sample") : null].flat().filter(Boolean);
  root.append(...(parts.length ? parts : [h("p", { class: "muted" }, "No characterisation, energy scan, XRF spectrum or plan is recorded.")]));
}

const STRATEGY_COLUMNS = [["axisStart", "Start", 1], ["axisEnd", "End", 1], ["oscillationRange", "Osc.", 2],
  ["numberOfImages", "Images", null], ["exposureTime", "Exposure", 3], ["transmission", "Transmission", 1],
  ["resolution", "Resolution", 2], ["completeness", "Completeness", 1], ["multiplicity", "Multiplicity", 2], ["dose", "Dose", 3]];

function strategiesTable(caps, screenings) {
  const rows = [];
  for (const sc of screenings) {
    for (const o of sc.outputs || []) {
      const lattice = (o.lattices || [])[0];
      for (const st of o.strategies || []) {
        for (const w of st.wedges || []) {
          for (const sw of w.subWedges || []) rows.push({ sc, o, lattice, st, sw });
        }
      }
    }
  }
  if (!rows.length) return screenings.length ? h("p", { class: "muted" }, `${screenings.length} characterisation(s), no strategy proposed.`) : null;
  const unit = (f) => caps.unit("ScreeningSubWedge", f);
  return h("div", { class: "table-wrap" }, h("table", { class: "shells", dataset: { table: "strategies" } },
    h("caption", {}, "Proposed strategies (one row per sub-wedge)"),
    h("thead", {}, h("tr", {}, ["Characterisation", "Strategy", "Space group", `Mosaicity (${caps.unit("ScreeningOutput", "mosaicity")})`].map((t) => h("th", { scope: "col" }, t)),
      STRATEGY_COLUMNS.map(([f, label]) => h("th", { scope: "col", class: "num" }, unit(f) && unit(f) !== "images" ? `${label} (${unit(f)})` : label)))),
    h("tbody", {}, rows.map(({ sc, o, lattice, st, sw }) => h("tr", {},
      h("th", { scope: "row" }, `${sc.program || DASH} ${sc.shortComments || ""}`.trim()),
      h("td", {}, `${st.program || DASH}${st.anomalous ? " · anomalous" : ""}`),
      h("td", { title: lattice && lattice.cell ? `cell ${lattice.cell.a} ${lattice.cell.b} ${lattice.cell.c} Å` : "" }, lattice ? lattice.spaceGroup || DASH : DASH),
      h("td", { class: "num" }, num(o.mosaicity, 2)),
      STRATEGY_COLUMNS.map(([f, , digits]) => h("td", { class: "num" }, digits === null ? int(sw[f]) : num(sw[f], digits))))))));
}

/** f′ and f″ at the peak and inflection as markers over the scanned energy range. */
function scanFigure(caps, scan) {
  const points = scan.points || [];
  const caption = `${scan.element || "?"} ${scan.edge || ""} edge scan ${scan.localId}: ` +
    (points.length ? points.map((p) => `${p.kind} ${num(p.energy, 1)} eV (f′ ${num(p.fPrime, 2)}, f″ ${num(p.fDoublePrime, 2)})`).join("; ") : "no peak or inflection recorded");
  if (!points.length) return h("p", { class: "muted" }, caption);
  const W = 560, H = 240, L = 48, R = 16, T = 14, B = 40;
  const energies = [scan.startEnergy, scan.endEnergy, ...points.map((p) => p.energy)].filter((v) => v !== null && v !== undefined);
  const e0 = Math.min(...energies), e1 = Math.max(...energies);
  const values = points.flatMap((p) => [p.fPrime, p.fDoublePrime]).filter((v) => v !== null && v !== undefined);
  const v0 = Math.min(0, ...values) - 1, v1 = Math.max(0, ...values) + 1;
  const px = (e) => L + ((e - e0) / ((e1 - e0) || 1)) * (W - L - R);
  const py = (v) => T + (1 - (v - v0) / ((v1 - v0) || 1)) * (H - T - B);
  const marks = points.flatMap((p, i) => [
    s("line", { x1: px(p.energy), x2: px(p.energy), y1: T, y2: H - B, class: "grid", "stroke-dasharray": "4 3" }),
    // labels alternate sides of their line: a peak lies a few eV above its inflection
    s("text", { x: px(p.energy) + (i % 2 ? 4 : -4), y: T + 10, "text-anchor": i % 2 ? "start" : "end", class: "small" }, p.kind),
    p.fPrime === null ? null : s("circle", { cx: px(p.energy), cy: py(p.fPrime), r: 5, fill: "#0072B2", dataset: { kind: p.kind, term: "fprime" } }),
    p.fDoublePrime === null ? null : s("rect", { x: px(p.energy) - 5, y: py(p.fDoublePrime) - 5, width: 10, height: 10, fill: "#D55E00", dataset: { kind: p.kind, term: "fdoubleprime" } }),
  ]);
  const unit = caps.unit("EnergyScan", "peakEnergy") || "eV";
  return h("figure", { class: "chart-figure", dataset: { chart: "energy-scan", scan: scan.localId } },
    s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": caption },
      s("title", {}, caption),
      s("line", { x1: L, x2: W - R, y1: py(0), y2: py(0), class: "axis" }),
      s("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }),
      s("text", { x: L, y: H - B + 16, "text-anchor": "start" }, num(e0, 0)),
      s("text", { x: W - R, y: H - B + 16, "text-anchor": "end" }, num(e1, 0)),
      s("text", { x: L - 6, y: py(v1 - 1) + 4, "text-anchor": "end" }, num(v1 - 1, 0)),
      s("text", { x: L - 6, y: py(v0 + 1) + 4, "text-anchor": "end" }, num(v0 + 1, 0)),
      s("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "label" }, `Energy (${unit})`),
      s("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", class: "label", transform: `rotate(-90 14 ${(T + H - B) / 2})` }, "f′ (●), f″ (■) in electrons"),
      marks),
    h("figcaption", {}, caption, scan.choochFile ? ` · Chooch output ${scan.choochFile}` : ""));
}

function spectraTable(caps, spectra) {
  if (!spectra.length) return null;
  const u = (f) => caps.unit("XrfSpectrum", f);
  return h("table", { class: "shells", dataset: { table: "xrf" } }, h("caption", {}, "XRF spectra of the session"),
    h("thead", {}, h("tr", {}, [`Energy (${u("energy")})`, `Exposure (${u("exposureTime")})`, `Transmission (${u("transmission")})`, "Elements", "Spectrum"]
      .map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, spectra.map((x) => h("tr", {}, h("td", { class: "num" }, measured(x.energy)), h("td", { class: "num" }, measured(x.exposureTime)),
      h("td", { class: "num" }, measured(x.transmission)), h("td", {}, (x.elements || []).join(", ") || DASH), h("td", {}, x.spectrumFile || DASH)))));
}

function planTable(caps, plan, caption) {
  const rows = [["Experiment kind", "experimentKind"], ["Required resolution", "requiredResolution"], ["Required completeness", "requiredCompleteness"],
    ["Required multiplicity", "requiredMultiplicity"], ["Anomalous", "anomalous"], ["Anomalous scatterer", "anomalousScatterer"],
    ["Preferred beam size X", "preferredBeamSizeX"], ["Preferred beam size Y", "preferredBeamSizeY"], ["Positions", "numberOfPositions"], ["Comments", "comments"]];
  return h("table", { class: "facts", dataset: { table: "plan" } }, h("caption", {}, caption),
    h("tbody", {}, rows.filter(([, f]) => f in plan).map(([label, f]) => h("tr", {}, h("th", { scope: "row" }, label),
      h("td", {}, typeof plan[f] === "boolean" ? (plan[f] ? "yes" : "no") : measured(plan[f])), h("td", { class: "unit" }, caps.unit("DiffractionPlan", f))))));
}
