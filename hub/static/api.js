// The hub's public GraphQL API, as the page uses it: POST /graphql, the caller's token, site failures apart.

import { SITE_FAILURE_CODES as SITE_CODES } from "./error_codes.js";

const TOKEN_KEY = "mxhub.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A request that produced no data: the hub unreachable, not GraphQL, or the query refused. */
export class HubError extends Error {
  constructor(message, kind, errors = []) {
    super(message);
    this.kind = kind;
    this.errors = errors;
  }
}

/**
 * Run one GraphQL request. Returns {data, errors, siteErrors, otherErrors, extensions}; throws HubError
 * when there is no data at all. `onSlow` is called once if the answer takes longer than `slowAfterMs`.
 */
export async function gql(query, variables = {}, { signal, onSlow, slowAfterMs = 1500 } = {}) {
  const headers = { "content-type": "application/json", accept: "application/graphql-response+json, application/json" };
  const bearer = token();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const timer = onSlow ? setTimeout(onSlow, slowAfterMs) : null;
  let response;
  try {
    response = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }), signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new HubError(`Could not reach the hub (${err.message}).`, "network");
  } finally {
    if (timer) clearTimeout(timer);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new HubError(`The hub answered HTTP ${response.status} without a GraphQL response.`, "http");
  }
  const errors = Array.isArray(body.errors) ? body.errors : [];
  const siteErrors = errors.filter((e) => e.extensions && e.extensions.site && SITE_CODES.has(e.extensions.code));
  const otherErrors = errors.filter((e) => !siteErrors.includes(e));
  if (body.data === null || body.data === undefined) {
    const message = errors.map((e) => e.message).join("; ") || `HTTP ${response.status}`;
    throw new HubError(message, response.status === 401 || response.status === 403 ? "auth" : "graphql", errors);
  }
  return { data: body.data, errors, siteErrors, otherErrors, extensions: body.extensions || {} };
}

const INTROSPECTION = `query Capabilities {
  __schema { types { name kind
    fields { name description type { name kind ofType { name kind ofType { name kind ofType { name } } } } }
    inputFields { name description type { name kind ofType { name kind ofType { name } } } } } }
}`;

function namedType(ref) {
  while (ref && !ref.name) ref = ref.ofType;
  return ref ? ref.name : null;
}

/** What this hub's schema offers (fields grow while the hub does): used to build queries and label units. */
export class Capabilities {
  constructor(types) {
    this.types = new Map(types.map((t) => [t.name, t]));
  }

  static async load() {
    const { data } = await gql(INTROSPECTION);
    return new Capabilities(data.__schema.types);
  }

  field(typeName, fieldName) {
    const type = this.types.get(typeName);
    const fields = type ? type.fields || type.inputFields || [] : [];
    return fields.find((f) => f.name === fieldName) || null;
  }

  hasField(typeName, fieldName) {
    return this.field(typeName, fieldName) !== null;
  }

  inputFields(typeName) {
    const type = this.types.get(typeName);
    return new Set(type && type.inputFields ? type.inputFields.map((f) => f.name) : []);
  }

  /** The input type of a filter field, e.g. DataCollectionFilter.lims -> CrystallisationSearchFilter. */
  fieldType(typeName, fieldName) {
    const f = this.field(typeName, fieldName);
    return f ? namedType(f.type) : null;
  }

  /** The unit a field's SDL description states ("Unit: Å."), or "" for none or dimensionless. */
  unit(typeName, fieldName) {
    const f = this.field(typeName, fieldName);
    const m = f && f.description ? /Unit:\s*([^\n]+?)\.?\s*$/.exec(f.description) : null;
    if (!m || /^(dimensionless|records|count)$/i.test(m[1])) return "";
    return m[1];
  }

  /**
   * A selection set of `spec` restricted to what `typeName` has: spec is "a b c" or
   * {_: "a b", child: spec}. Returns "" when nothing of it exists.
   */
  select(typeName, spec) {
    const parts = [];
    const scalars = typeof spec === "string" ? spec : spec._ || "";
    for (const name of scalars.split(/\s+/).filter(Boolean)) {
      if (this.hasField(typeName, name)) parts.push(name);
    }
    if (typeof spec === "object") {
      for (const [name, sub] of Object.entries(spec)) {
        if (name === "_" || !this.hasField(typeName, name)) continue;
        const inner = this.select(this.fieldType(typeName, name), sub);
        if (inner) parts.push(`${name} ${inner}`);
      }
    }
    return parts.length ? `{ ${parts.join(" ")} }` : "";
  }
}
