// The search view: form <-> URL <-> DataCollectionFilter, the results table, exact paging, site problems.
// Over 400 lines because the form mapping, table, pager and pictures share one view state (chemistry.js
// holds what is chemistry-specific).

import { gql, HubError } from "./api.js";
import { clear, DASH, h, int, num, when } from "./dom.js";
import { resolutionBySite, resolutionCompleteness } from "./charts.js";
import { chemistryColumns, knownChemical, limsWarnings } from "./chemistry.js";
import { ErrorCode } from "./error_codes.js";

const UNIPROT = /^([OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9]([A-Z][A-Z0-9]{2}[0-9]){1,2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VISIT = /^[a-z]{2,4}\d+-\d+$/i;
const PROPOSAL = /^[a-z]{2,4}\d+$/i;
const ACRONYM = /^[A-Z][A-Z0-9]{1,5}$/;

// What the free-text box can mean: [value of `as`, label, filter field ("lims." = inside the LIMS filter)].
export const SEARCH_AS = [
  ["auto", "anything (guess)", null],
  ["proteinName", "protein name", "proteinName"],
  ["proteinAcronym", "protein acronym", "proteinAcronym"],
  ["uniprotId", "UniProt accession", "uniprotId"],
  ["sampleName", "sample name", "sampleName"],
  ["visit", "visit", "visit"],
  ["proposal", "proposal", "proposal"],
  ["crystalUuid", "crystal UUID", "crystalUuid"],
  ["ligand", "ligand (PDB CCD id)", "lims.ligand"],
  ["chemical", "crystallisation chemical", "lims.chemical"],
];

const PARAMS = ["q", "as", "site", "beamline", "protein", "sg", "res", "type", "from", "to", "scope", "size",
  "ligand", "chemical", "cmin", "cmax", "cunit", "phmin", "phmax", "method"];

/** What the shape of `value` alone says it is (UniProt, UUID, visit, proposal), or null: then only the
 * LIMS can tell whether it is a crystallisation chemical, before the guess falls back to a protein. */
export function shapeGuess(value) {
  if (UNIPROT.test(value.toUpperCase()) && /\d/.test(value)) return "uniprotId";
  if (UUID.test(value)) return "crystalUuid";
  if (VISIT.test(value)) return "visit";
  if (PROPOSAL.test(value)) return "proposal";
  return null;
}

/**
 * How the free text will be searched: {as, field, value}, or null for an empty box. `chemical` says the
 * LIMS know the text as a crystallisation chemical (SearchView.isChemical asks them), so "sodium chloride"
 * or "HEPES" is searched as one rather than as a protein name or acronym.
 */
export function interpret(text, as = "auto", chemical = false) {
  const value = (text || "").trim();
  if (!value) return null;
  if (as && as !== "auto") {
    const row = SEARCH_AS.find((r) => r[0] === as);
    if (row) return { as, field: row[2], label: row[1], value: as === "uniprotId" ? value.toUpperCase() : value };
  }
  const chosen = shapeGuess(value)
    || (chemical ? "chemical" : ACRONYM.test(value) ? "proteinAcronym" : "proteinName");
  const row = SEARCH_AS.find((r) => r[0] === chosen);
  return { as: chosen, field: row[2], label: row[1], value: chosen === "uniprotId" ? value.toUpperCase() : value };
}

/** The page's `order` ("RESOLUTION:ASC") -> the hub's DataCollectionOrder (since 1.2.0): the hub sorts
 * every facility's records server-side, so pages stay exact; null for the default (newest first) or a
 * hub without orderBy. */
export function orderFrom(params, caps) {
  const [field, direction] = (params.get("order") || "").split(":");
  if (!field || !caps.inputFields("DataCollectionOrder").has("field")) return null;
  return { field, direction: direction === "DESC" ? "DESC" : "ASC" };
}

/** URLSearchParams (the page's address) -> the hub's DataCollectionFilter, limited to what the hub has. */
export function filterFrom(params, caps, chemical = false) {
  const has = caps.inputFields("DataCollectionFilter");
  const limsType = caps.fieldType("DataCollectionFilter", "lims");
  const limsHas = limsType ? caps.inputFields(limsType) : new Set();
  const f = {}, lims = {};
  const put = (field, value) => {
    if (value === "" || value === null || value === undefined || Number.isNaN(value)) return;
    if (field.startsWith("lims.")) { if (limsHas.has(field.slice(5))) lims[field.slice(5)] = value; }
    else if (has.has(field)) f[field] = value;
  };
  const sites = params.getAll("site");
  if (sites.length) put("sites", sites);
  put("beamline", params.get("beamline") || "");
  put("proteinAcronym", params.get("protein") || "");
  put("spaceGroup", params.get("sg") || "");
  if (params.get("res")) put("resolutionBetterThan", Number(params.get("res")));
  put("experimentType", params.get("type") || "");
  if (params.get("from")) put("startAfter", `${params.get("from")}T00:00:00+00:00`);
  if (params.get("to")) {
    const next = new Date(`${params.get("to")}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    put("startBefore", next.toISOString().replace(".000Z", "+00:00"));
  }
  put("lims.ligand", params.get("ligand") || "");
  put("lims.chemical", params.get("chemical") || "");
  if (params.get("cmin")) put("lims.concentrationMin", Number(params.get("cmin")));
  if (params.get("cmax")) put("lims.concentrationMax", Number(params.get("cmax")));
  if (params.get("chemical") && (params.get("cmin") || params.get("cmax"))) put("lims.concentrationUnit", params.get("cunit") || "");
  if (params.get("phmin")) put("lims.phMin", Number(params.get("phmin")));
  if (params.get("phmax")) put("lims.phMax", Number(params.get("phmax")));
  put("lims.method", params.get("method") || "");
  if (params.get("scope") === "mine") put("mine", true);  // the caller's own (the hub refuses it anonymous)
  const free = interpret(params.get("q"), params.get("as") || "auto", chemical);
  if (free) put(free.field, free.value);
  if (Object.keys(lims).length) f.lims = lims;
  return f;
}

/** The page's address for a filled-in form: only the fields with a value, in a fixed order. */
export function paramsFromForm(form) {
  const data = new FormData(form);
  const out = new URLSearchParams();
  for (const key of PARAMS) {
    for (const value of data.getAll(key)) {
      const v = String(value).trim();
      if (!v || (key === "as" && v === "auto") || (key === "scope" && v === "public") || (key === "size" && v === "25")) continue;
      out.append(key, v);
    }
  }
  return out;
}

export function formFromParams(form, params) {
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "checkbox") el.checked = params.getAll(el.name).includes(el.value);
    else if (el.type === "radio") el.checked = (params.get(el.name) || el.dataset.default) === el.value;
    else if (el.tagName === "SELECT") {
      // A value the list lacks (a facet count's, e.g. an experiment type the form does not offer) is added,
      // so that the form shows the filter in force and a later change keeps it.
      const value = params.get(el.name) || el.dataset.default || "";
      if (value && ![...el.options].some((o) => o.value === value)) el.append(h("option", { value }, value));
      el.value = value;
    }
    else el.value = params.get(el.name) || "";
  }
}

function rowSelection(caps, chemistry) {
  const images = caps.select(caps.fieldType("DataCollection", "images"), "count missing verified first last");
  const xtal = chemistry ? caps.select(caps.fieldType("Sample", "crystallisation"),
    { _: "ph", components: "name casNumber concentration unit role" }) : "";
  return `id site localId experimentType startTime numberOfImages
    session { visit beamline }
    sample { name crystal { spaceGroup } protein { acronym name uniprotIds } ${xtal ? `crystallisation ${xtal}` : ""} }
    bestProcessing { program spaceGroup overall { resolutionHigh completeness ccHalf } }
    ${images ? `images ${images}` : ""}`;
}

const COLUMNS = [
  { key: "site", label: "Site", value: (n) => n.site },
  { key: "visit", label: "Visit", value: (n) => n.session && n.session.visit },
  { key: "sample", label: "Sample", value: (n) => n.sample && n.sample.name },
  { key: "protein", label: "Protein", value: (n) => n.sample && n.sample.protein && (n.sample.protein.acronym || n.sample.protein.name) },
  { key: "sg", label: "Space group", value: (n) => (n.bestProcessing && n.bestProcessing.spaceGroup) || (n.sample && n.sample.crystal && n.sample.crystal.spaceGroup) },
  { key: "res", label: "Best resolution (Å)", num: true, value: (n) => stat(n, "resolutionHigh"), show: (v) => num(v, 2) },
  { key: "comp", label: "Completeness (%)", num: true, value: (n) => stat(n, "completeness"), show: (v) => num(v, 1) },
  { key: "cc", label: "CC½", num: true, value: (n) => stat(n, "ccHalf"), show: (v) => num(v, 3) },
  { key: "date", label: "Date (UTC)", value: (n) => n.startTime, show: when },
  { key: "images", label: "Images", value: (n) => imagesSortKey(n), cell: imagesCell },
];

function capitalised(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function stat(n, key) {
  return n.bestProcessing && n.bestProcessing.overall ? n.bestProcessing.overall[key] : null;
}

function imageSets(n) {
  if (!("images" in n) || n.images === null || n.images === undefined) return null;
  return Array.isArray(n.images) ? n.images : [n.images];
}

function imagesSortKey(n) {
  const sets = imageSets(n);
  return sets ? sets.reduce((a, x) => a + (x.count || 0), 0) : -1;
}

function imagesCell(n, caps) {
  const expected = n.numberOfImages;
  if (!caps.hasField("DataCollection", "images")) {
    return h("span", { class: "muted", title: "This hub has no image index yet" }, `${int(expected)} recorded`);
  }
  const sets = imageSets(n);
  if (!sets || !sets.length) return h("span", { class: "muted" }, `not indexed (${int(expected)} recorded)`);
  const count = sets.reduce((a, x) => a + (x.count || 0), 0);
  const missing = sets.reduce((a, x) => a + ((x.missing && x.missing.length) || 0), 0);
  const failed = sets.some((x) => x.verified === false);
  const verified = sets.every((x) => x.verified === true);
  return h("span", { title: `${int(count)} image files on disk of ${int(expected)} recorded` }, `${int(count)}/${int(expected)} `,
    failed ? h("span", { class: "error" }, "✗ checksum errors")
      : verified ? h("span", { class: "ok" }, "✓ verified") : h("span", { class: "muted" }, "not verified"),
    missing ? h("span", { class: "warn" }, `, ${int(missing)} missing`) : null);
}

// Facet counts beside the results (dataCollectionFacets, since 1.2.0): each field, its heading and the
// address parameter a click on one of its values sets.
const FACETS = [
  ["BEAMLINE", "Beamline", "beamline"],
  ["EXPERIMENT_TYPE", "Experiment type", "type"],
  ["SPACE_GROUP", "Space group", "sg"],
  ["PROTEIN", "Protein", "protein"],
];

const SITE_PROBLEM = {
  SITE_TIMEOUT: "too slow: no answer before the hub's deadline",
  SITE_UNAVAILABLE: "unreachable, or marked down by the hub's health checks",
  SITE_ERROR: "answered with an error",
};

/** The search view: owns the form, the table, the pager and the pictures. */
export class SearchView {
  constructor(caps, els) {
    this.caps = caps;
    this.els = els;
    this.key = null;         // the address (search params) shown now
    this.cursors = [null];   // cursors[i]: `after` of page i (the hub's cursors go forward only)
    this.page = 0;
    this.rows = [];
    this.sort = null;        // {key, dir}; null = the hub's order (newest first)
    this.seq = 0;            // the latest request; older answers are dropped
    this.controller = null;
    this.total = 0;
    this.chemicals = new Map();  // free text -> whether the LIMS know it as a chemical (asked once)
    this.columns = COLUMNS;
  }

  /** Whether the LIMS know the free text as a chemical (only for "anything"), asked once per text. */
  async isChemical(params) {
    const text = (params.get("q") || "").trim();
    if (!text || (params.get("as") || "auto") !== "auto" || shapeGuess(text)) return false;
    if (!this.caps.fieldType("DataCollectionFilter", "lims")) return false;
    if (!this.chemicals.has(text)) this.chemicals.set(text, await knownChemical(text));
    return this.chemicals.get(text);
  }

  /** Show the search for `params`; only a different search starts again from page 1. */
  async show(params) {
    const key = params.toString();
    if (key === this.key) return;
    this.key = key;
    this.params = params;
    this.chemical = await this.isChemical(params);
    if (key !== this.key) return;  // another search started meanwhile
    this.filter = filterFrom(params, this.caps, this.chemical);
    const lims = this.filter.lims;
    this.chemistry = Boolean(lims) && this.caps.hasField("Sample", "crystallisation");
    this.columns = this.chemistry
      ? [...COLUMNS.slice(0, 5), ...chemistryColumns(lims.chemical || null), ...COLUMNS.slice(5)] : COLUMNS;
    this.size = Number(params.get("size") || 25);
    this.order = orderFrom(params, this.caps);
    this.cursors = [null];
    this.page = 0;
    this.sort = null;
    this.describeInterpretation(params);
    this.showProblems([], []);  // the last search's problems are not this one's
    this.els.pageinfo.textContent = "";
    if (await this.load()) { this.loadFacetCounts(); this.loadPictures(); }
    else { clear(this.els.pictures); clear(this.facetBox()); }
  }

  describeInterpretation(params) {
    const free = interpret(params.get("q"), params.get("as") || "auto", this.chemical);
    const el = this.els.interpretation;
    el.textContent = free ? `Searching “${free.value}” as ${free.label}.` +
      (free.field.startsWith("lims.") && !this.caps.fieldType("DataCollectionFilter", "lims")
        ? " This hub has no crystallisation (LIMS) search yet, so it is ignored." : "") : "";
  }

  async next() {
    if (!this.hasNext) return;
    this.cursors[this.page + 1] = this.endCursor;
    this.page += 1;
    await this.load();
  }

  async previous() {
    if (this.page === 0) return;
    this.page -= 1;
    await this.load();
  }

  async load() {
    const seq = ++this.seq;
    if (this.controller) this.controller.abort();
    this.controller = new AbortController();
    const { status, results } = this.els;
    results.setAttribute("aria-busy", "true");
    this.setStatus("Searching every facility…", "busy");
    const ordered = this.order !== null;  // a cursor belongs to its order: a new order starts at page 1
    const query = `query Search($f: DataCollectionFilter, $first: Int, $after: String${ordered ? ", $o: DataCollectionOrder" : ""}) {
      dataCollections(filter: $f, first: $first, after: $after${ordered ? ", orderBy: $o" : ""}) {
        totalCount${this.caps.hasField("DataCollectionConnection", "totalCountKind") ? " totalCountKind" : ""} pageInfo { hasNextPage endCursor }
        edges { cursor node { ${rowSelection(this.caps, this.chemistry)} } } } }`;
    const started = performance.now();
    try {
      const variables = { f: this.filter, first: this.size, after: this.cursors[this.page] };
      if (ordered) variables.o = this.order;
      const answer = await gql(query, variables, {
        signal: this.controller.signal,
        onSlow: () => seq === this.seq && this.setStatus("Still waiting for some facilities… a slow site is named and left out once the hub's deadline passes.", "busy slow"),
      });
      if (seq !== this.seq) return;
      const conn = answer.data.dataCollections;
      this.rows = conn.edges.map((e) => e.node);
      this.hasNext = conn.pageInfo.hasNextPage;
      this.endCursor = conn.pageInfo.endCursor;
      this.total = conn.totalCount;
      this.complete = answer.extensions.totalCountComplete !== false;
      this.estimate = conn.totalCountKind === "ESTIMATE";  // a site estimated a broad count (issue 17)
      this.showProblems(answer.siteErrors, answer.otherErrors, answer.extensions.warnings || []);
      this.renderTable();
      this.renderPager();
      const ms = Math.round(performance.now() - started);
      this.setStatus(this.total === 0
        ? "No data collections match."
        : `${capitalised(this.totalText())} data collection${this.total === 1 ? "" : "s"} found; page ${this.page + 1} shown (${ms} ms).`, "done");
      return true;
    } catch (err) {
      if (err.name === "AbortError" || seq !== this.seq) return false;
      this.rows = [];
      this.total = 0;
      this.hasNext = false;
      this.renderTable(err);
      this.renderPager();
      this.showProblems([], []);
      this.setStatus(err instanceof HubError && err.kind === "auth"
        ? `The hub refused the token: ${err.message}. Sign out to search as an anonymous caller (public data only).`
        : `The search failed: ${err.message}`, "error");
      return false;
    } finally {
      if (seq === this.seq) results.removeAttribute("aria-busy");
    }
  }

  setStatus(text, state) {
    this.els.status.textContent = text;
    this.els.status.dataset.state = state;
    this.els.status.dataset.search = this.key || "";  // which search the state is of (scripts wait on it)
  }

  showProblems(siteErrors, otherErrors, warnings = []) {
    const box = clear(this.els.problems);
    const bySite = new Map();
    for (const e of siteErrors) if (!bySite.has(e.extensions.site)) bySite.set(e.extensions.site, e);
    const others = otherErrors.filter((e) => !(e.extensions && e.extensions.code === ErrorCode.MISSING_GEOMETRY));
    const lims = limsWarnings(warnings, this.params);
    if (!bySite.size && !others.length && !lims) { box.hidden = true; return; }
    box.hidden = false;
    if (lims) box.append(lims);
    if (bySite.size) {
      box.append(h("h2", {}, bySite.size === 1 ? "One site did not answer" : `${bySite.size} sites did not answer`),
        h("p", {}, "Results and counts below leave them out."),
        h("ul", {}, [...bySite.values()].map((e) => h("li", { dataset: { site: e.extensions.site, code: e.extensions.code } },
          h("strong", {}, e.extensions.site), ` — ${SITE_PROBLEM[e.extensions.code] || "failed"} (${e.extensions.code}). `,
          h("span", { class: "muted" }, e.message)))));
    }
    if (others.length) {
      box.append(h("h2", {}, "The hub reported problems"),
        h("ul", {}, others.map((e) => h("li", {}, e.message, e.extensions && e.extensions.code ? ` (${e.extensions.code})` : ""))));
    }
  }

  sortedRows() {
    if (!this.sort) return this.rows;
    const col = this.columns.find((c) => c.key === this.sort.key);
    const dir = this.sort.dir === "ascending" ? 1 : -1;
    return this.rows.map((n, i) => [n, i]).sort(([a, ia], [b, ib]) => {
      const va = col.value(a), vb = col.value(b);
      const missA = va === null || va === undefined, missB = vb === null || vb === undefined;
      if (missA || missB) return missA === missB ? ia - ib : missA ? 1 : -1;  // missing values last
      const c = col.num ? va - vb : String(va).localeCompare(String(vb), "en", { numeric: true });
      return c ? c * dir : ia - ib;
    }).map(([n]) => n);
  }

  toggleSort(key) {
    if (!this.sort || this.sort.key !== key) this.sort = { key, dir: "ascending" };
    else if (this.sort.dir === "ascending") this.sort = { key, dir: "descending" };
    else this.sort = null;
    this.renderTable();
    const button = this.els.results.querySelector(`th button[data-key="${key}"]`);
    if (button) button.focus();
  }

  renderTable(error) {
    const table = clear(this.els.results);
    table.append(h("caption", {}, this.sort
      ? `Sorted by ${this.columns.find((c) => c.key === this.sort.key).label}, ${this.sort.dir}, within this page. Pages follow the hub's order (newest first).`
      : "In the hub's order: newest first. Column headers sort this page."));
    table.append(h("thead", {}, h("tr", {}, this.columns.map((c) => {
      const sorted = this.sort && this.sort.key === c.key ? this.sort.dir : null;
      return h("th", { scope: "col", class: c.num ? "num" : null, "aria-sort": sorted || "none" },
        h("button", { type: "button", dataset: { key: c.key }, onclick: () => this.toggleSort(c.key) },
          c.label, h("span", { class: "arrow", "aria-hidden": "true" }, sorted === "ascending" ? "\u00a0▲" : sorted === "descending" ? "\u00a0▼" : "\u00a0⇅")));
    }), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Details")))));
    const body = h("tbody");
    if (error) {
      body.append(h("tr", {}, h("td", { colspan: this.columns.length + 1, class: "empty error" }, `Nothing to show: ${error.message}`)));
    } else if (!this.rows.length) {
      body.append(h("tr", {}, h("td", { colspan: this.columns.length + 1, class: "empty" },
        h("p", {}, "No data collection matches these filters at the sites that answered."),
        this.relaxHints())));
    }
    for (const n of this.sortedRows()) {
      body.append(h("tr", { dataset: { id: n.id } }, this.columns.map((c) => {
        const v = c.value(n);
        const content = c.cell ? c.cell(n, this.caps) : c.show ? c.show(v) : (v ?? DASH);
        return h("td", { class: c.num ? "num" : null, dataset: { col: c.key } }, content);
      }), h("td", {}, h("a", { href: `#/dc/${encodeURIComponent(n.id)}`, class: "details",
        "aria-label": `Details of ${n.sample ? n.sample.name : n.localId} at ${n.site}` }, "Details"),
        " · ", h("a", { href: `/datasets/${encodeURIComponent(n.id)}`, class: "landing",
          "aria-label": `Landing page of ${n.sample ? n.sample.name : n.localId} at ${n.site}` }, "Page"))));
    }
    table.append(body);
  }

  /** Buttons that drop one filter at a time, for an empty result. */
  relaxHints() {
    const active = [...new Set([...this.params.keys()].filter((k) => !["as", "size", "scope"].includes(k)))];
    if (!active.length) return h("p", {}, "No site has any data collection yet.");
    return h("p", {}, "Try without: ", active.map((k) => h("button", {
      type: "button", class: "chip", onclick: () => {
        const p = new URLSearchParams(this.params);
        p.delete(k);
        location.hash = `#/?${p}`;
      },
    }, `${k} = ${this.params.getAll(k).join(", ")}`)));
  }

  renderPager() {
    const { prev, next, pageinfo } = this.els;
    prev.disabled = this.page === 0;
    next.disabled = !this.hasNext;
    const first = this.page * this.size + 1;
    pageinfo.textContent = this.rows.length
      ? `Page ${this.page + 1}: ${int(first)}–${int(first + this.rows.length - 1)} of ${this.totalText()}`
      : "";
  }

  /** The total as counted: "about N" when a site estimated it, "at least N" when a site did not answer. */
  totalText() {
    if (this.estimate) return `about ${int(this.total)}`;
    return `${this.complete ? "" : "at least "}${int(this.total)}`;
  }

  /** The box the facet counts go in, made once beside the results table (before it). */
  facetBox() {
    if (!this.els.facets) {
      this.els.facets = h("aside", { id: "facet-counts", "aria-label": "Counts by field" });
      this.els.results.closest(".table-wrap").before(this.els.facets);
    }
    return this.els.facets;
  }

  /** Counts of the current filter's matches by beamline, experiment type, space group and protein; a
   * click on a value sets it as a filter. A hub without dataCollectionFacets shows none. */
  async loadFacetCounts() {
    const seq = this.seq;
    const box = clear(this.facetBox());
    if (!this.caps.hasField("Query", "dataCollectionFacets")) { box.hidden = true; return; }
    box.hidden = false;
    if (this.filter.lims) {
      box.append(h("p", { class: "muted" }, "No counts by field for a crystallisation (LIMS) search."));
      return;
    }
    const query = `query Facets($f: DataCollectionFilter, $fields: [FacetField!]!) {
      dataCollectionFacets(filter: $f, fields: $fields, first: 8) { field values { value count countKind } } }`;
    let answer;
    try {
      answer = await gql(query, { f: this.filter, fields: FACETS.map(([field]) => field) });
    } catch (err) {
      if (seq === this.seq) clear(box).append(h("p", { class: "error" }, `No counts by field: ${err.message}`));
      return;
    }
    if (seq !== this.seq) return;
    const found = new Map((answer.data.dataCollectionFacets || []).map((f) => [f.field, f.values]));
    for (const [field, label, param] of FACETS) {
      const values = found.get(field) || [];
      box.append(h("section", { class: "facet", dataset: { field } }, h("h3", {}, label),
        values.length ? h("ul", {}, values.map((v) => h("li", {}, v.value === null
          ? h("span", { class: "muted" }, "none", " ", this.facetCount(v))
          : h("button", { type: "button", class: "chip", dataset: { value: v.value },
            "aria-pressed": String(this.params.get(param) === v.value),
            onclick: () => {
              const p = new URLSearchParams(this.params);
              p.set(param, v.value);
              location.hash = `#/?${p}`;
            } }, v.value, " ", this.facetCount(v)))))
          : h("p", { class: "muted" }, "none")));
    }
  }

  facetCount(v) {
    const text = v.countKind === "ESTIMATE" ? `about ${int(v.count)}` : int(v.count);
    return h("span", { class: "count", title: v.countKind === "ESTIMATE" ? "estimated by the site's store" : "counted" }, text);
  }

  /** Pictures of the newest 500 matching collections (one more request, after the table). */
  async loadPictures() {
    const seq = this.seq;
    const box = clear(this.els.pictures);
    box.append(h("p", { class: "muted" }, "Drawing…"));
    const query = `query Pictures($f: DataCollectionFilter) { dataCollections(filter: $f, first: 500) {
      totalCount edges { node { site sample { name protein { acronym name } } bestProcessing { overall { resolutionHigh completeness } } } } } }`;
    let answer;
    try {
      answer = await gql(query, { f: this.filter });
    } catch (err) {
      if (seq === this.seq) clear(box).append(h("p", { class: "error" }, `No pictures: ${err.message}`));
      return;
    }
    if (seq !== this.seq) return;
    clear(box);
    const conn = answer.data.dataCollections;
    const points = conn.edges.map((e) => e.node).filter((n) => stat(n, "resolutionHigh") !== null && stat(n, "completeness") !== null)
      .map((n) => ({ site: n.site, x: stat(n, "resolutionHigh"), y: stat(n, "completeness"), label: n.sample ? n.sample.name : "" }));
    if (!points.length) {
      box.append(h("p", { class: "muted" }, "No processed results among these collections to draw."));
      return;
    }
    const of = conn.totalCount > conn.edges.length ? ` (of the newest ${int(conn.edges.length)} of ${this.totalText()} matching)` : "";
    box.append(resolutionCompleteness(points, `Resolution against completeness of the best processing result: ${int(points.length)} collections${of}.`));
    const protein = this.proteinLabel(conn.edges.map((e) => e.node));
    if (protein) {
      box.append(resolutionBySite(points, `Best resolutions of ${protein} at each facility: ${int(points.length)} collections${of}.`));
    } else {
      box.append(h("p", { class: "muted hint" }, "Search for one protein to see how its best resolutions compare across facilities."));
    }
  }

  proteinLabel(nodes) {
    const named = new Set(nodes.map((n) => n.sample && n.sample.protein && (n.sample.protein.acronym || n.sample.protein.name)).filter(Boolean));
    const asked = this.filter.proteinAcronym || this.filter.proteinName || this.filter.uniprotId;
    return asked && named.size === 1 ? [...named][0] : asked && named.size ? asked : null;
  }
}
