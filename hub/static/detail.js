// The detail view of one data collection: geometry with units, processing, crystallisation, images, downloads.

import { gql } from "./api.js";
import { screeningSection } from "./detail-screening.js";
import { CITATION_FIELDS, citationSection } from "./detail-citation.js";
import { bytes, clear, DASH, h, int, measured, num, when } from "./dom.js";
import { ErrorCode } from "./error_codes.js";
import { dimpleNote, GRID_SELECTION, gridSection, MR_SELECTION } from "./detail-grid.js";
import { PREVIEW_FIELDS, previewFigure } from "./detail-previews.js";

const GEOMETRY = [
  ["experimentType", "Experiment type"], ["startTime", "Start"], ["endTime", "End"], ["runStatus", "Run status"],
  ["imageDirectory", "Image directory"], ["fileTemplate", "File template"], ["startImageNumber", "First image"],
  ["numberOfImages", "Number of images"], ["wavelength", "Wavelength"], ["energy", "Energy"],
  ["detectorDistance", "Detector distance"], ["beamCentreX", "Beam centre X"], ["beamCentreY", "Beam centre Y"],
  ["rotationAxis", "Rotation axis"], ["axisStart", "Axis start"], ["axisEnd", "Axis end"], ["axisRange", "Oscillation per image"],
  ["overlap", "Overlap"], ["exposureTime", "Exposure per image"], ["transmission", "Transmission"], ["flux", "Flux"],
  ["beamSizeX", "Beam size (horizontal)"], ["beamSizeY", "Beam size (vertical)"], ["resolution", "Resolution at detector edge"],
  ["detectorTwoTheta", "Detector 2θ"], ["kappaStart", "Kappa"], ["phiStart", "Phi"], ["chiStart", "Chi"], ["omegaStart", "Omega start"],
  ["comments", "Comments"],
];
const DETECTOR = [["manufacturer", "Manufacturer"], ["model", "Model"], ["serialNumber", "Serial number"],
  ["pixelSizeX", "Pixel size X"], ["pixelSizeY", "Pixel size Y"], ["numberOfPixelsX", "Pixels X"], ["numberOfPixelsY", "Pixels Y"],
  ["sensorMaterial", "Sensor"], ["sensorThickness", "Sensor thickness"]];
const SHELL = "resolutionLow resolutionHigh completeness multiplicity meanIOverSigI ccHalf ccAnomalous rMerge rMeas rPim nTotalObservations nTotalUnique";
const SHELL_COLUMNS = [["resolutionLow", "Low (Å)", 2], ["resolutionHigh", "High (Å)", 2], ["completeness", "Completeness (%)", 1],
  ["multiplicity", "Multiplicity", 1], ["meanIOverSigI", "I/σ(I)", 1], ["ccHalf", "CC½", 3], ["rMerge", "Rmerge", 3],
  ["rMeas", "Rmeas", 3], ["rPim", "Rpim", 3], ["nTotalUnique", "Unique", null]];
// Parts other modules add to this view (detail-*.js): `select` extends the DataCollection selection, `render(caps,
// n, section)` returns a section (or null). They register before app.js runs (their script tags come first).
export const DETAIL_PARTS = [];

function merged(base, extra) {
  const out = typeof base === "string" ? { _: base } : { ...base };
  for (const [k, v] of Object.entries(extra)) {
    if (k === "_") out._ = `${out._ || ""} ${v}`;
    else out[k] = k in out ? merged(out[k], typeof v === "string" ? { _: v } : v) : v;
  }
  return out;
}

export const DOWNLOADS = [["xdsInp", "XDS.INP", "XDS.INP"], ["dialsImport", "dials.import command", "dials_import.sh"],
  ["mosflm", "MOSFLM input", "mosflm.inp"]];

function detailQuery(caps) {
  const sel = (type, spec) => caps.select(type, spec);
  const dc = sel("DataCollection", DETAIL_PARTS.reduce((spec, part) => merged(spec, part.select), {
    _: `id site localId ${GEOMETRY.map((g) => g[0]).join(" ")}`,
    session: "visit proposal beamline",
    sample: {
      _: "id name barcode containerCode position",
      crystal: { _: "uuid spaceGroup", cell: "a b c alpha beta gamma" },
      protein: "acronym name uniprotIds",
      crystallisation: {
        _: "method temperature ph setupDate well drop screen condition cryoProtectant source conflicts",
        plate: "barcode type", components: "name casNumber concentration unit role",
        soaks: "compound ccdId concentration unit durationMinutes",
      },
    },
    detector: DETECTOR.map((d) => d[0]).join(" "),
    processing: { _: "id program status spaceGroup anomalous", cell: "a b c alpha beta gamma", overall: SHELL, inner: SHELL, outer: SHELL,
      mrRuns: MR_SELECTION },
    ...GRID_SELECTION,
    bestProcessing: "id",
    images: { _: "id directory template first last count missing totalBytes verified format kind", ...PREVIEW_FIELDS },
    reprocessing: "xdsInp dialsImport mosflm",
    ...CITATION_FIELDS,
  }));
  return `query Detail($id: ID!) { node(id: $id) { ... on DataCollection ${dc} } }`;
}

function table(caption, rows) {
  return h("table", { class: "facts" }, h("caption", {}, caption),
    h("tbody", {}, rows.map(([label, value, unit]) => h("tr", {}, h("th", { scope: "row" }, label),
      h("td", {}, value), h("td", { class: "unit" }, unit || "")))));
}

function section(title, id, ...content) {
  return h("section", { class: "card", "aria-labelledby": id }, h("h3", { id }, title), content);
}

/** Renders one collection into `root`; returns the heading to focus. */
export async function showDetail(root, caps, id) {
  clear(root).append(h("p", { role: "status" }, "Loading the data collection…"));
  let answer;
  try {
    answer = await gql(detailQuery(caps), { id }, {
      onSlow: () => { const p = root.querySelector("[role=status]"); if (p) p.textContent = "Still waiting for the site that holds this collection…"; },
    });
  } catch (err) {
    clear(root).append(h("h2", { id: "detail-heading", tabindex: "-1" }, "Data collection"),
      h("p", { class: "error", role: "alert" }, `Could not load it: ${err.message}`));
    return root.querySelector("h2");
  }
  const n = answer.data.node;
  clear(root);
  if (!n) {
    const why = answer.errors.map((e) => e.message).join("; ") || "the hub knows no data collection with this id";
    root.append(h("h2", { id: "detail-heading", tabindex: "-1" }, "Data collection not found"), h("p", { class: "error", role: "alert" }, why));
    return root.querySelector("h2");
  }
  const unit = (type, field) => caps.unit(type, field);
  const sample = n.sample || {};
  const protein = sample.protein || {};
  const title = `${sample.name || n.localId} — ${protein.name || protein.acronym || "unknown protein"}`;
  root.append(h("h2", { id: "detail-heading", tabindex: "-1" }, title),
    h("p", { class: "subtitle" }, `Site ${n.site} · collection ${n.localId} · visit ${n.session ? n.session.visit : DASH}` +
      ` · beamline ${n.session ? n.session.beamline || DASH : DASH} · ${when(n.startTime)} UTC`));

  const geometry = GEOMETRY.filter(([f]) => f in n).map(([f, label]) =>
    [label, (f === "startTime" || f === "endTime") && n[f] ? `${when(n[f])} UTC` : measured(n[f]), unit("DataCollection", f)]);
  const crystal = sample.crystal || {};
  const cell = crystal.cell;
  const sampleRows = [["Sample", sample.name || DASH], ["Pin barcode", sample.barcode || DASH],
    ["Container / position", `${sample.containerCode || DASH} / ${sample.position ?? DASH}`],
    ["Protein", sample.protein ? `${protein.acronym || DASH} — ${protein.name || DASH}` : DASH],
    ["UniProt", (protein.uniprotIds || []).join(", ") || DASH], ["Crystal UUID", crystal.uuid || DASH],
    ["Space group (recorded)", crystal.spaceGroup || DASH],
    ["Cell (recorded)", cell ? `${cell.a} ${cell.b} ${cell.c} Å, ${cell.alpha} ${cell.beta} ${cell.gamma}°` : DASH]];
  const det = n.detector || {};
  root.append(h("div", { class: "cards" },
    section("Geometry", "geometry-heading", table("Geometry as recorded, with units", geometry)),
    h("div", {},
      section("Sample", "sample-heading", table("Sample and crystal", sampleRows)),
      section("Detector", "detector-heading", n.detector ? table("Detector", DETECTOR.filter(([f]) => f in det)
        .map(([f, label]) => [label, measured(det[f]), unit("Detector", f)]))
        : h("p", { class: "muted" }, "No detector is recorded for this collection.")))));

  root.append(processingSection(n));
  const grid = gridSection(n);  // detail-grid.js: heat map of a grid scan, spots per image of a sweep
  if (grid) root.append(grid);
  const screening = screeningSection(caps, id); // characterisation, scans, plan (schema 1.2.0)
  if (screening) root.append(screening);
  root.append(crystallisationSection(caps, sample));
  root.append(imagesSection(caps, n));
  root.append(reprocessingSection(caps, n, answer.errors));
  for (const part of DETAIL_PARTS) {
    const added = part.render(caps, n, section);
    if (added) root.append(added);
  }
  root.append(citationSection(n));
  return root.querySelector("h2");
}

function processingSection(n) {
  const results = n.processing || [];
  const bestId = n.bestProcessing ? n.bestProcessing.id : null;
  if (!results.length) {
    const why = n.experimentType && n.experimentType !== "OSC" ? ` (${n.experimentType} collections are usually not integrated)` : "";
    return section("Processing results", "processing-heading", h("p", { class: "muted" }, `No processing result${why}.`));
  }
  return section("Processing results", "processing-heading", results.map((r, i) => {
    const c = r.cell;
    return h("table", { class: "shells", dataset: { program: r.program || "" } },
      h("caption", {}, `${r.program || "unknown program"} · ${r.status} · ${r.spaceGroup || DASH}` +
        (c ? ` · cell ${c.a} ${c.b} ${c.c} Å ${c.alpha} ${c.beta} ${c.gamma}°` : "") + (r.anomalous ? " · anomalous" : "") +
        (r.id === bestId ? " · best result" : "") + dimpleNote(r)),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Shell"), SHELL_COLUMNS.map(([, label]) => h("th", { scope: "col", class: "num" }, label)))),
      h("tbody", {}, ["overall", "inner", "outer"].map((shell) => h("tr", {}, h("th", { scope: "row" }, shell),
        SHELL_COLUMNS.map(([f, , digits]) => {
          const v = r[shell] ? r[shell][f] : null;
          return h("td", { class: "num" }, digits === null ? int(v) : num(v, digits));
        })))));
  }));
}

function crystallisationSection(caps, sample) {
  if (!caps.hasField("Sample", "crystallisation")) {
    return section("Crystallisation", "cryst-heading", h("p", { class: "muted" }, "This hub has no crystallisation LIMS connected yet."));
  }
  if (!sample.id) return section("Crystallisation", "cryst-heading", h("p", { class: "muted" }, "No sample is recorded for this collection."));
  const x = sample.crystallisation;
  if (!x) return section("Crystallisation", "cryst-heading", h("p", { class: "muted" }, "No crystallisation LIMS knows this sample."));
  const rows = [["Method", x.method || DASH], ["Temperature", measured(x.temperature), caps.unit("Crystallisation", "temperature")],
    ["pH", measured(x.ph)], ["Set up", x.setupDate || DASH],
    ["Plate / well / drop", `${x.plate ? x.plate.barcode : DASH}${x.plate && x.plate.type ? ` (${x.plate.type})` : ""} / ${x.well ?? DASH} / ${x.drop ?? DASH}`],
    ["Screen", `${x.screen || DASH}${x.condition ? ` ${x.condition}` : ""}`], ["Cryo-protectant", x.cryoProtectant || DASH],
    ["Source (LIMS)", x.source || DASH]];
  return section("Crystallisation", "cryst-heading", table("Crystallisation record", rows),
    (x.conflicts || []).length ? h("p", { class: "warn" }, `Conflicts: ${x.conflicts.join("; ")}`) : null,
    h("table", { class: "shells" }, h("caption", {}, "Condition components"),
      h("thead", {}, h("tr", {}, ["Component", "CAS", "Concentration", "Role"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, (x.components || []).map((c) => h("tr", {}, h("td", {}, c.name), h("td", {}, c.casNumber || DASH),
        h("td", {}, `${measured(c.concentration)} ${c.unit || ""}`), h("td", {}, c.role || DASH))))),
    (x.soaks || []).length ? h("table", { class: "shells" }, h("caption", {}, "Soaks"),
      h("thead", {}, h("tr", {}, ["Compound", "CCD id", "Concentration", "Duration (min)"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, x.soaks.map((k) => h("tr", {}, h("td", {}, k.compound), h("td", {}, k.ccdId || DASH),
        h("td", {}, `${measured(k.concentration)} ${k.unit || ""}`), h("td", {}, measured(k.durationMinutes)))))) : null);
}

function imagesSection(caps, n) {
  if (!caps.hasField("DataCollection", "images")) {
    return section("Images", "images-heading", h("p", { class: "muted" },
      `This hub has no image index yet: ${int(n.numberOfImages)} images were recorded as ${n.imageDirectory || ""}${n.fileTemplate || ""}.`));
  }
  const sets = n.images === null || n.images === undefined ? [] : Array.isArray(n.images) ? n.images : [n.images];
  if (!sets.length) return section("Images", "images-heading", h("p", { class: "muted" }, "No image files indexed for this collection (deleted, or not scanned yet)."));
  const verdict = (v) => v === true ? "yes: every checksum matches" : v === false ? "NO: checksum errors" : "not checked";
  const where = (x) => x.directory ? `${x.directory.replace(/\/?$/, "/")}${x.template || ""}` : x.template || "Image set";
  return section("Images", "images-heading", sets.map((x) => [table(where(x), [
    ["Images on disk", `${int(x.first)}–${int(x.last)} (${int(x.count)} of ${int(n.numberOfImages)} recorded)`],
    ["Kind", x.kind || DASH],
    ["Missing", (x.missing || []).length ? x.missing.slice(0, 20).join(", ") + (x.missing.length > 20 ? `, … (${x.missing.length})` : "") : "none"],
    ["Size", bytes(x.totalBytes)], ["Verified", verdict(x.verified)], ["Format", x.format || DASH]]), previewFigure(x)]));
}

function download(text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function reprocessingSection(caps, n, errors) {
  const missing = errors.find((e) => e.extensions && e.extensions.code === ErrorCode.MISSING_GEOMETRY);
  const r = n.reprocessing;
  if (!caps.hasField("DataCollection", "reprocessing")) {
    return section("Reprocess", "reprocess-heading", h("p", { class: "muted" }, "This hub does not generate reprocessing inputs."));
  }
  if (!r) {
    return section("Reprocess", "reprocess-heading", h("p", { class: "warn", role: "note" },
      missing ? `Reprocessing inputs cannot be written: ${missing.message}` : "No reprocessing inputs for this collection."));
  }
  return section("Reprocess", "reprocess-heading",
    h("div", { class: "downloads" }, DOWNLOADS.map(([f, label, filename]) => h("button", {
      type: "button", dataset: { download: f }, onclick: () => download(r[f], filename),
    }, `Download ${label}`))),
    DOWNLOADS.map(([f, label]) => h("details", {}, h("summary", {}, `Show ${label}`), h("pre", {}, r[f]))));
}
