// Crystallisation chemistry on the search page: whether the LIMS know a text as a chemical (for the
// "anything" guess), the pH and concentration columns of chemistry (LIMS) results, and LIMS warnings.

import { gql } from "./api.js";
import { DASH, h, num } from "./dom.js";
import { ErrorCode } from "./error_codes.js";

/**
 * Whether the registered LIMS know `text` as a crystallisation chemical (their vocabulary of synonyms
 * included: "NaCl", "PEG 3350"). One probe with `first: 0`: a term no LIMS knows comes back as an
 * UNKNOWN_TERM warning and costs no site a query.
 */
export async function knownChemical(text) {
  try {
    const answer = await gql(`query Guess($f: DataCollectionFilter) { dataCollections(filter: $f, first: 0) { totalCount } }`,
      { f: { lims: { chemical: text } } });
    const warnings = answer.extensions.warnings || [];
    const unknown = warnings.some((w) => w.code === ErrorCode.UNKNOWN_TERM && w.field === "chemical");
    const incomplete = warnings.some((w) => w.code === ErrorCode.LIMS_SEARCH_INCOMPLETE);
    return !unknown && (!incomplete || answer.data.dataCollections.totalCount > 0);
  } catch {
    return false;  // malformed as a chemical (e.g. a bad CAS number), or no LIMS: not a chemical
  }
}

/** A chemical name reduced to what spellings share: "PEG 3,350" and "polyethylene glycol 3350" alike. */
function chemKey(name) {
  return String(name || "").toLowerCase().replace(/sulph/g, "sulf").replace(/poly\(?ethylene\s*glycol\)?/g, "peg")
    .replace(/[^a-z0-9]/g, "");
}

/** The component of the row's condition that the searched chemical names (by name or CAS), or null. */
function searchedComponent(n, chemical) {
  const x = n.sample && n.sample.crystallisation;
  if (!x || !x.components || !chemical) return null;
  const key = chemKey(chemical);
  return x.components.find((c) => c.casNumber === chemical.trim() || chemKey(c.name) === key) || null;
}

function conditionText(n) {
  const x = n.sample && n.sample.crystallisation;
  if (!x || !x.components || !x.components.length) return null;
  return x.components.map((c) => `${c.concentration ?? "?"} ${c.unit || ""} ${c.name}`.replace(/\s+/g, " ")).join("; ");
}

/** Columns shown for a crystallisation (LIMS) search: the condition's pH and the searched chemical's
 * concentration (the whole condition when the chemical is not named, or named by a synonym). */
export function chemistryColumns(chemical) {
  return [
    { key: "ph", label: "pH", num: true, value: (n) => (n.sample && n.sample.crystallisation ? n.sample.crystallisation.ph : null), show: (v) => num(v, 1) },
    { key: "conc", label: chemical ? `Concentration of ${chemical}` : "Condition", num: Boolean(chemical),
      value: (n) => { const c = searchedComponent(n, chemical); return c ? c.concentration : chemical ? null : conditionText(n); },
      cell: (n) => {
        const c = searchedComponent(n, chemical);
        if (c) return h("span", { title: c.name, dataset: { unit: c.unit || "" } }, `${num(c.concentration, 3).replace(/\.?0+$/, "")} ${c.unit || ""}`);
        const all = conditionText(n);
        return all ? h("span", { class: chemical ? "muted" : null }, all)
          : h("span", { class: "muted", title: "No crystallisation LIMS knows this sample" }, DASH);
      } },
  ];
}


/** What the LIMS search warned about (UNKNOWN_TERM with "did you mean" links, LIMS_SEARCH_INCOMPLETE), or null. */
export function limsWarnings(warnings, params) {
  const unknown = warnings.filter((w) => w.code === ErrorCode.UNKNOWN_TERM);
  const incomplete = warnings.filter((w) => w.code === ErrorCode.LIMS_SEARCH_INCOMPLETE);
  if (!unknown.length && !incomplete.length) return null;
  const param = { chemical: "chemical", ligand: "ligand" };
  const items = unknown.map((w) => h("li", { dataset: { code: w.code, field: w.field } },
    `No registered LIMS records the ${w.field} “${w.value}”.`,
    (w.suggestions || []).length ? [" Did you mean: ", w.suggestions.map((s) => {
      const p = new URLSearchParams(params);
      if (params.get(param[w.field]) === w.value) p.set(param[w.field], s);
      else { p.delete("q"); p.delete("as"); p.set(param[w.field] || w.field, s); }
      return h("a", { href: `#/?${p}`, class: "chip" }, s);
    })] : null));
  items.push(...incomplete.map((w) => h("li", { dataset: { code: w.code } }, w.message)));
  return h("div", { class: "lims-warnings" }, h("h2", {}, "Crystallisation (LIMS) search"), h("ul", {}, items));
}
