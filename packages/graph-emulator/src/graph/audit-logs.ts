import type { EmulatorCore } from '../core';
import { GraphError, badRequest, notFound } from '../http/errors';
import type { GraphRequest, GraphResponse } from '../http/types';
import type { Entity } from '../tenant/directory';
import { entityResponse } from './common';
import { parseFilter, type FilterNode } from './filter';
import { listResponse } from './list';
import { opt } from './query';
import type { Route } from './routes';
import type { EntitySchema } from './schema';

const PROPS = [
  'id',
  'category',
  'correlationId',
  'result',
  'resultReason',
  'activityDisplayName',
  'activityDateTime',
  'loggedByService',
  'operationType',
  'initiatedBy',
  'targetResources',
  'additionalDetails',
];

const SCHEMA: EntitySchema = {
  odataType: '#microsoft.graph.directoryAudit',
  props: new Map(PROPS.map((p) => [p.toLowerCase(), p])),
  defaults: null,
};

type Op = 'eq' | 'ge' | 'le' | 'startswith';

/**
 * What `$filter` accepts on directoryAudits, from the resource's documentation: activityDateTime
 * (eq, ge, le), activityDisplayName (eq, startswith), correlationId, id, loggedByService (eq),
 * initiatedBy's user id / displayName / userPrincipalName (eq; the UPN also startswith) and app appId /
 * displayName (eq). category and result are filtered with eq as the admin center does.
 */
const FILTERABLE: Record<string, readonly Op[]> = {
  activitydatetime: ['eq', 'ge', 'le'],
  activitydisplayname: ['eq', 'startswith'],
  category: ['eq'],
  result: ['eq'],
  correlationid: ['eq'],
  id: ['eq'],
  loggedbyservice: ['eq'],
  'initiatedby/user/id': ['eq'],
  'initiatedby/user/displayname': ['eq'],
  'initiatedby/user/userprincipalname': ['eq', 'startswith'],
  'initiatedby/app/appid': ['eq'],
  'initiatedby/app/displayname': ['eq'],
};

function invalidFilter(detail: string): GraphError {
  return badRequest(`Invalid filter clause: ${detail}`, 'BadRequest');
}

function checkNode(node: FilterNode): void {
  switch (node.kind) {
    case 'and':
    case 'or':
      checkNode(node.left);
      checkNode(node.right);
      return;
    case 'not':
      throw invalidFilter("the operator 'not' is not supported on directoryAudits.");
    case 'in':
    case 'any':
      throw invalidFilter(`'${node.kind}' is not supported for '${node.prop}' on directoryAudits.`);
    case 'cmp':
    case 'fn': {
      const op: string = node.kind === 'fn' ? node.fn : node.op;
      const allowed = FILTERABLE[node.prop.toLowerCase()];
      if (!allowed) throw invalidFilter(`the property '${node.prop}' cannot be filtered on directoryAudits.`);
      if (!allowed.includes(op as Op)) throw invalidFilter(`the operator '${op}' is not supported for '${node.prop}'.`);
      return;
    }
  }
}

/** `$orderby=activityDateTime [asc|desc]` only; Graph's default order is newest first. */
function ascending(req: GraphRequest): boolean {
  const raw = opt(req, 'orderby');
  if (raw === null || raw.trim() === '') return false;
  const m = /^\s*activityDateTime(?:\s+(asc|desc))?\s*$/i.exec(raw);
  if (!m) throw badRequest(`$orderby is supported on activityDateTime only, not '${raw}'.`, 'BadRequest');
  return (m[1] ?? 'asc').toLowerCase() === 'asc';
}

const ascendingViews = new WeakMap<readonly Entity[], readonly Entity[]>();

/** Entries a reader sees now: recorded at least `auditLatencyMs` ago (Graph's audit events arrive late). */
function visible(core: EmulatorCore, req: GraphRequest): readonly Entity[] {
  const newestFirst = core.dir.audits.visible(Date.now() - core.auditLatencyMs);
  if (!ascending(req)) return newestFirst;
  let asc = ascendingViews.get(newestFirst);
  if (!asc) {
    asc = Object.freeze([...newestFirst].reverse());
    ascendingViews.set(newestFirst, asc);
  }
  return asc;
}

/**
 * The identity and access reports service limit: 5 requests per 10 seconds per app and tenant, for
 * every request (also inside $batch), independent of the directory's resource units.
 */
const REPORTS_LIMIT = 5;
const REPORTS_WINDOW_MS = 10_000;
const recent = new WeakMap<EmulatorCore, Map<string, number[]>>();

function admit(core: EmulatorCore, req: GraphRequest): void {
  if (!core.auditLogLicensed) {
    // What Graph answers a tenant without Microsoft Entra ID P1/P2 on the reporting APIs.
    throw new GraphError(
      403,
      'Authentication_RequestFromNonPremiumTenantOrB2CTenant',
      "Neither tenant is B2C or tenant doesn't have premium license",
    );
  }
  if (!core.settings.throttle.enabled) return;
  const appId = req.claims?.appid ?? '';
  let byApp = recent.get(core);
  if (!byApp) {
    byApp = new Map();
    recent.set(core, byApp);
  }
  const now = Date.now();
  const times = (byApp.get(appId) ?? []).filter((t) => t > now - REPORTS_WINDOW_MS);
  if (times.length >= REPORTS_LIMIT) {
    byApp.set(appId, times);
    const retryAfter = Math.max(0.001, Math.ceil((times[0] as number) + REPORTS_WINDOW_MS - now) / 1000);
    throw new GraphError(
      429,
      'TooManyRequests',
      'Please retry again later.',
      { 'retry-after': String(retryAfter), 'x-ms-throttle-scope': `Tenant_Application/Read/${appId}/${core.tenantId}` },
      { code: '429', message: 'Please retry after', status: '429' },
    );
  }
  times.push(now);
  byApp.set(appId, times);
}

function listAudits(core: EmulatorCore, req: GraphRequest): GraphResponse {
  admit(core, req);
  const filter = opt(req, 'filter');
  if (filter) checkNode(parseFilter(filter).root);
  return listResponse<Entity>(core, req, {
    contextName: 'auditLogs/directoryAudits',
    schema: SCHEMA,
    source: () => visible(core, req),
    asObject: (e) => e,
    render: (e, select) => (select ? Object.fromEntries(select.map((k) => [k, e[k] ?? null])) : e),
    // Reporting filters are not "advanced queries": no ConsistencyLevel needed.
    checkFilter: () => undefined,
  });
}

export const auditLogRoutes: Route[] = [
  { method: 'GET', pattern: '/auditLogs/directoryAudits', perm: 'readAuditLogs', cost: 0, handler: (core, req) => listAudits(core, req) },
  {
    method: 'GET',
    pattern: '/auditLogs/directoryAudits/:id',
    perm: 'readAuditLogs',
    cost: 0,
    handler: (core, req, p) => {
      admit(core, req);
      const id = p['id'] as string;
      const e = core.dir.audits.visible(Date.now() - core.auditLatencyMs).find((x) => x.id === id);
      if (!e) throw notFound(id);
      return entityResponse(core.baseUrl, req, 'auditLogs/directoryAudits', SCHEMA, e);
    },
  },
];
