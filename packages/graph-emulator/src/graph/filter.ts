import { badRequest, unsupportedQuery } from '../http/errors';
import type { JsonObject, JsonValue } from '../types';

/** The subset of OData $filter Graph supports on directory objects, parsed into a predicate tree. */
export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; inner: FilterNode }
  | { kind: 'cmp'; op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'; prop: string; value: JsonValue }
  | { kind: 'in'; prop: string; values: JsonValue[] }
  | { kind: 'fn'; fn: 'startswith' | 'endswith'; prop: string; value: string }
  | { kind: 'any'; prop: string; op: 'eq'; value: JsonValue };

export interface ParsedFilter {
  root: FilterNode;
  /** Uses ne / not / endswith: needs ConsistencyLevel: eventual and $count=true. */
  advanced: boolean;
  props: string[];
}

type Tok = { t: 'str'; v: string } | { t: 'word'; v: string } | { t: 'punct'; v: string };

function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === "'") {
      let v = '';
      i++;
      while (i < s.length) {
        if (s[i] === "'") {
          if (s[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          break;
        }
        v += s[i];
        i++;
      }
      if (s[i] !== "'") throw badRequest('Invalid filter clause: unterminated string literal.', 'BadRequest');
      i++;
      out.push({ t: 'str', v });
      continue;
    }
    if ('(),:'.includes(c)) {
      out.push({ t: 'punct', v: c });
      i++;
      continue;
    }
    let j = i;
    // A DateTimeOffset literal (2024-01-31T08:00:00Z) is one word although it contains ':'.
    const stops = /[0-9]/.test(c) ? " \t(),'" : " \t(),:'";
    while (j < s.length && !stops.includes(s[j] as string)) j++;
    out.push({ t: 'word', v: s.slice(i, j) });
    i = j;
  }
  return out;
}

export function parseFilter(src: string): ParsedFilter {
  const toks = tokenize(src);
  let p = 0;
  let advanced = false;
  const props = new Set<string>();
  const peek = (): Tok | undefined => toks[p];
  const isWord = (v: string): boolean => {
    const t = toks[p];
    return t?.t === 'word' && t.v.toLowerCase() === v;
  };
  const expect = (v: string): void => {
    const t = toks[p];
    if (!t || t.v !== v) throw badRequest(`Invalid filter clause: expected '${v}'.`, 'BadRequest');
    p++;
  };
  const literal = (): JsonValue => {
    const t = toks[p++];
    if (!t) throw badRequest('Invalid filter clause: missing value.', 'BadRequest');
    if (t.t === 'str') return t.v;
    if (t.t === 'word') {
      const l = t.v.toLowerCase();
      if (l === 'true') return true;
      if (l === 'false') return false;
      if (l === 'null') return null;
      if (/^-?\d+(\.\d+)?$/.test(t.v)) return Number(t.v);
      return t.v; // GUIDs and DateTimeOffset literals come unquoted
    }
    throw badRequest('Invalid filter clause.', 'BadRequest');
  };
  const propName = (): string => {
    const t = toks[p++];
    if (!t || t.t !== 'word') throw badRequest('Invalid filter clause: expected a property.', 'BadRequest');
    props.add(t.v.split('/')[0] as string);
    return t.v;
  };
  const primary = (): FilterNode => {
    const t = peek();
    if (!t) throw badRequest('Invalid filter clause.', 'BadRequest');
    if (t.t === 'punct' && t.v === '(') {
      p++;
      const e = orExpr();
      expect(')');
      return e;
    }
    if (t.t === 'word' && (t.v.toLowerCase() === 'startswith' || t.v.toLowerCase() === 'endswith') && toks[p + 1]?.v === '(') {
      const fn = t.v.toLowerCase() as 'startswith' | 'endswith';
      if (fn === 'endswith') advanced = true;
      p += 2;
      const prop = propName();
      expect(',');
      const v = literal();
      expect(')');
      return { kind: 'fn', fn, prop, value: String(v) };
    }
    const prop = propName();
    if (prop.includes('/any')) {
      // e.g. groupTypes/any(c:c eq 'Unified') arrives as words "groupTypes/any" "(" "c" ":" "c" "eq" ...
      expect('(');
      p++; // range variable
      expect(':');
      p++; // range variable again
      const op = toks[p++]?.v.toLowerCase();
      if (op !== 'eq') throw unsupportedQuery();
      const value = literal();
      expect(')');
      return { kind: 'any', prop: prop.split('/')[0] as string, op: 'eq', value };
    }
    const opTok = toks[p++];
    const op = opTok?.v.toLowerCase();
    if (op === 'in') {
      expect('(');
      const values: JsonValue[] = [];
      while (true) {
        values.push(literal());
        if (peek()?.v === ',') {
          p++;
          continue;
        }
        break;
      }
      expect(')');
      return { kind: 'in', prop, values };
    }
    if (op === 'eq' || op === 'ne' || op === 'gt' || op === 'ge' || op === 'lt' || op === 'le') {
      if (op === 'ne') advanced = true;
      return { kind: 'cmp', op, prop, value: literal() };
    }
    throw badRequest(`Invalid filter clause: unsupported operator '${opTok?.v ?? ''}'.`, 'BadRequest');
  };
  const unary = (): FilterNode => {
    if (isWord('not')) {
      p++;
      advanced = true;
      return { kind: 'not', inner: unary() };
    }
    return primary();
  };
  const andExpr = (): FilterNode => {
    let left = unary();
    while (isWord('and')) {
      p++;
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  function orExpr(): FilterNode {
    let left = andExpr();
    while (isWord('or')) {
      p++;
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  }
  const root = orExpr();
  if (p !== toks.length) throw badRequest('Invalid filter clause: syntax error.', 'BadRequest');
  return { root, advanced, props: [...props] };
}

const DATE_TIME = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,7}))?Z?)?$/i;

/** DateTimeOffset values (UTC, any precision up to Graph's seven digits) as comparable text; null if not one. */
function dateTimeKey(v: string): string | null {
  const m = DATE_TIME.exec(v);
  if (!m) return null;
  const time = (m[2] ?? '00:00:00').padEnd(8, ':00');
  return `${m[1]}T${time}.${(m[3] ?? '').padEnd(7, '0')}`;
}

function cmpValues(a: JsonValue | undefined, b: JsonValue): number {
  if (typeof a === 'string' && typeof b === 'string') {
    const da = dateTimeKey(a);
    const db = da === null ? null : dateTimeKey(b);
    if (da !== null && db !== null) return da < db ? -1 : da > db ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string')
    return a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return NaN;
}

function eqValues(a: JsonValue | undefined, b: JsonValue): boolean {
  if (a === undefined) a = null;
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

/** A property or a path into complex properties (initiatedBy/user/id). */
function valueAt(obj: JsonObject, prop: string, canon: (p: string) => string): JsonValue | undefined {
  const parts = prop.split('/');
  let v: JsonValue | undefined = obj[canon(parts[0] as string)];
  for (let i = 1; i < parts.length; i++) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const o: { [k: string]: JsonValue } = v;
    const key = Object.keys(o).find((k) => k.toLowerCase() === (parts[i] as string).toLowerCase());
    v = key === undefined ? undefined : o[key];
  }
  return v;
}

export function evaluate(node: FilterNode, obj: JsonObject, canon: (p: string) => string): boolean {
  switch (node.kind) {
    case 'and':
      return evaluate(node.left, obj, canon) && evaluate(node.right, obj, canon);
    case 'or':
      return evaluate(node.left, obj, canon) || evaluate(node.right, obj, canon);
    case 'not':
      return !evaluate(node.inner, obj, canon);
    case 'in': {
      const v = valueAt(obj, node.prop, canon);
      return node.values.some((x) => eqValues(v, x));
    }
    case 'fn': {
      const v = valueAt(obj, node.prop, canon);
      if (typeof v !== 'string') return false;
      const a = v.toLowerCase();
      const b = node.value.toLowerCase();
      return node.fn === 'startswith' ? a.startsWith(b) : a.endsWith(b);
    }
    case 'any': {
      const v = obj[canon(node.prop)];
      return Array.isArray(v) && v.some((x) => eqValues(x, node.value));
    }
    case 'cmp': {
      const v = valueAt(obj, node.prop, canon);
      switch (node.op) {
        case 'eq':
          return eqValues(v, node.value);
        case 'ne':
          return !eqValues(v, node.value);
        case 'gt':
          return cmpValues(v, node.value) > 0;
        case 'ge':
          return cmpValues(v, node.value) >= 0;
        case 'lt':
          return cmpValues(v, node.value) < 0;
        case 'le':
          return cmpValues(v, node.value) <= 0;
      }
    }
  }
  return false;
}
