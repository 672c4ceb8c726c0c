// The page's entry: what the hub offers, sign-in, and the two views (search, one collection) by address.

import { Capabilities, gql, setToken, token } from "./api.js";
import { clear, h } from "./dom.js";
import { showDetail } from "./detail.js";
import { formFromParams, paramsFromForm, SEARCH_AS, SearchView } from "./search.js";

const $ = (id) => document.getElementById(id);
const COMMON_SPACE_GROUPS = ["P 1", "P 1 21 1", "C 1 2 1", "P 21 21 21", "P 21 21 2", "I 2 2 2", "C 2 2 21",
  "P 41 21 2", "P 43 21 2", "P 31 2 1", "P 32 2 1", "P 61 2 2", "P 65 2 2", "I 21 3", "H 3", "P 6 2 2"];

let caps;
let search;
let lastSearchHash = "#/";
let openedId = null;

function showSignIn() {
  const signedIn = Boolean(token());
  $("login-form").hidden = signedIn;
  $("who").hidden = !signedIn;
  $("who-anon").hidden = signedIn;
}

function setupLogin() {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) return;
    setToken(value);
    $("token").value = "";
    showSignIn();
    $("logout").focus();
    refresh();
  });
  $("logout").addEventListener("click", () => {
    setToken("");
    showSignIn();
    $("token").focus();
    refresh();
  });
  showSignIn();
}

function refresh() {
  if (search) { search.key = null; route(); } else location.reload();  // the start failed: try again
}

async function loadFacets() {
  const as = $("as");
  const hasLims = Boolean(caps.fieldType("DataCollectionFilter", "lims"));
  for (const [value, label, field] of SEARCH_AS) {
    const needsLims = field && field.startsWith("lims.");
    as.append(h("option", { value, disabled: needsLims && !hasLims }, needsLims && !hasLims ? `${label} (needs a LIMS)` : label));
  }
  $("facet-lims").hidden = !hasLims;
  if (!caps.inputFields("DataCollectionFilter").has("mine")) {  // an older hub: no "only mine" filter
    document.querySelector('input[name="scope"][value="mine"]').disabled = true;
    $("scope-hint").textContent = "“Mine” needs a newer hub (DataCollectionFilter.mine); results show what the hub lets you see.";
  }
  const datalist = $("spacegroups");
  COMMON_SPACE_GROUPS.forEach((sg) => datalist.append(h("option", { value: sg })));
  const boxes = $("site-boxes");
  try {
    const { data } = await gql(`{ sites { name kind status latencyMs schemaVersion lastSeen }
      proteins(first: 500) { edges { node { acronym name } } } }`);
    clear(boxes);
    const sites = data.sites.filter((s) => s.kind === "site");
    if (!sites.length) boxes.append(h("p", { class: "muted" }, "No site is registered with this hub yet."));
    for (const s of sites) {
      const id = `site-${s.name}`;
      boxes.append(h("div", { class: "check" },
        h("input", { type: "checkbox", id, name: "site", value: s.name }),
        h("label", { for: id }, s.name, " ",
          h("span", { class: `badge ${s.status}`, title: `health check: ${s.status}${s.latencyMs ? `, ${Math.round(s.latencyMs)} ms` : ""}` },
            s.status === "up" ? "up" : s.status))));
    }
    boxes.append(h("p", { class: "hint" }, "None ticked: every facility."));
    const seen = new Map();
    for (const e of data.proteins.edges) if (e.node.acronym && !seen.has(e.node.acronym)) seen.set(e.node.acronym, e.node.name);
    const select = $("protein");
    [...seen].sort().forEach(([acronym, name]) => select.append(h("option", { value: acronym }, `${acronym} — ${name || ""}`)));
  } catch (err) {
    clear(boxes).append(h("p", { class: "error" }, `Could not list the sites: ${err.message}`));
  }
}

function rememberBeamlines(rows) {
  const list = $("beamlines");
  const have = new Set([...list.options].map((o) => o.value));
  for (const r of rows) {
    const b = r.session && r.session.beamline;
    if (b && !have.has(b)) { have.add(b); list.append(h("option", { value: b })); }
  }
}

async function route() {
  const hash = location.hash || "#/";
  const detail = /^#\/dc\/(.+)$/.exec(hash);
  if (detail) {
    openedId = decodeURIComponent(detail[1]);
    $("search-view").hidden = true;
    $("detail-view").hidden = false;
    $("back").setAttribute("href", lastSearchHash);
    const heading = await showDetail($("detail"), caps, openedId);
    if (heading) heading.focus();
    return;
  }
  lastSearchHash = hash;
  $("detail-view").hidden = true;
  $("search-view").hidden = false;
  const params = new URLSearchParams(hash.replace(/^#\/?\??/, ""));
  formFromParams($("search"), params);
  const wasOpen = openedId;
  openedId = null;
  if (wasOpen) {
    const link = document.querySelector(`#results tr[data-id="${CSS.escape(wasOpen)}"] a.details`);
    if (link) link.focus();
  }
  await search.show(params);
  rememberBeamlines(search.rows);
}

async function start() {
  setupLogin();
  try {
    caps = await Capabilities.load();
  } catch (err) {
    $("status").textContent = err.kind === "auth"
      ? `The hub refused the token: ${err.message}. Sign out to continue as an anonymous caller.`
      : `The hub did not answer: ${err.message}`;
    $("status").dataset.state = "error";
    return;
  }
  await loadFacets();
  search = new SearchView(caps, {
    status: $("status"), problems: $("problems"), results: $("results"), interpretation: $("interpretation"),
    prev: $("prev"), next: $("next"), pageinfo: $("pageinfo"), pictures: $("pictures"),
  });
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    const target = `#/?${paramsFromForm($("search"))}`;
    if (target === location.hash) { search.key = null; route(); } else location.hash = target;
  });
  $("search").addEventListener("reset", () => setTimeout(() => { location.hash = "#/"; }, 0));
  // Facets apply as soon as they change; the free-text box waits for Enter or the Search button.
  $("search").addEventListener("change", (event) => {
    if (event.target.id !== "q" && event.target.id !== "token") $("search").requestSubmit();
  });
  // Focus stays on the pager button pressed, unless it is now disabled (first or last page).
  $("next").addEventListener("click", async () => {
    await search.next();
    rememberBeamlines(search.rows);
    if ($("next").disabled) $("prev").focus();
  });
  $("prev").addEventListener("click", async () => {
    await search.previous();
    if ($("prev").disabled) ($("next").disabled ? $("results-heading") : $("next")).focus();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("detail-view").hidden) location.hash = lastSearchHash;
  });
  window.addEventListener("hashchange", route);
  await route();
}

start();
