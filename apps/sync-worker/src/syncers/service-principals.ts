import { sql } from 'kysely';
import type { DeltaPage } from '@warden/graph-core';
import type { RunSession } from '../runs/session';
import { unmarkRun } from '../writers/marks';
import type { WriteBuffer } from '../writers/buffer';
import { countObjects } from './count';
import { bump, runDeltaStream, type PassState } from './delta-stream';
import { mapEnterpriseApp, SERVICE_PRINCIPAL_SELECT, type GraphServicePrincipal } from './enterprise-apps';
import { mapManagedIdentity } from './managed-identities';

/**
 * Service principals through servicePrincipals delta: managed identities become MANAGED_IDENTITY
 * resources, applications ENTERPRISE_APPLICATION resources with their entitlements (owner,
 * default access, one per app role). Other kinds (Legacy, SocialIdp) are counted and skipped.
 */
export async function syncServicePrincipals(s: RunSession): Promise<void> {
  await runDeltaStream<GraphServicePrincipal>(s, {
    stream: 'servicePrincipals',
    label: 'service principals',
    initialPath: `/v1.0/servicePrincipals/delta?$select=${SERVICE_PRINCIPAL_SELECT.join(',')}`,
    listPath: `/v1.0/servicePrincipals?$select=${SERVICE_PRINCIPAL_SELECT.join(',')}`,
    count: () => countObjects(s, 'servicePrincipals'),
    unmark: () => unmarkRun(s.db, s.connectorId, s.runId, 'servicePrincipals'),
    apply: (page, pass, out) => applyPage(s, page, pass, out),
  });
}

async function applyPage(s: RunSession, page: DeltaPage<GraphServicePrincipal>, pass: PassState, out: WriteBuffer): Promise<void> {
  const apps = new Map<string, Set<string>>();
  for (const c of page.changes) {
    if (c.kind === 'removed') {
      pass.pending.resource(c.id, pass.startedAt);
      bump(pass.counters, 'removed');
      continue;
    }
    const o = c.object;
    if (o.servicePrincipalType === 'ManagedIdentity') {
      out.resources.push(mapManagedIdentity(o));
      pass.pending.keepResource(o.id);
    } else if (o.servicePrincipalType === 'Application') {
      const m = mapEnterpriseApp(o);
      out.resources.push(m.resource);
      out.entitlements.push(...m.entitlements);
      pass.pending.keepResource(o.id);
      apps.set(o.id, new Set(m.entitlements.map((e) => e.key)));
      for (const e of m.entitlements) pass.pending.keepEntitlement(e.key);
    } else {
      bump(pass.counters, 'skippedServicePrincipals');
    }
  }
  if (!pass.full && apps.size > 0) {
    // An app whose roles changed: entitlements of roles it no longer defines go (with their grants)
    // when the run succeeds. Full passes get the same effect from the sweep of unmarked rows.
    const current = await s.db
      .selectFrom('entitlements')
      .select(['key', 'resource_external_id'])
      .where('connector_id', '=', s.connectorId)
      .where('resource_type', '=', 'ENTERPRISE_APPLICATION')
      .where('resource_external_id', '=', sql<string>`ANY(${[...apps.keys()]}::text[])`)
      .execute();
    for (const e of current) if (!apps.get(e.resource_external_id)?.has(e.key)) pass.pending.entitlement(e.key, pass.startedAt);
  }
}
