// Who decides, in two forms of one rule: `resolve.ts` for one principal and entitlement (an access
// request's step) and `bulk.ts` as SQL expressions for a whole campaign (access reviews). A change to
// the rule (kinds, the fallback when it finds nobody or only the people concerned) goes in both.
export {
  resolveDeciders,
  fallbackDeciders,
  isDecider,
  isSelf,
  type DecisionSubject,
  type DecidingCaller,
  type ResolvedDeciders,
} from './resolve';

/**
 * The caller's Graph object id *in this connector's tenant*: its token's `oid` when the token's `tid`
 * is the connector's tenant (the tenant typed for it, or the one a verified admin consent recorded),
 * else null. This is how a signed-in Entra user is recognised as a synced USER decider (as `me` does).
 */
export function oidInConnector(
  connector: { tenant_id: string | null; consented_tenant_id: string | null },
  token: { tid?: string | null; oid?: string | null },
): string | null {
  if (!token.tid || !token.oid) return null;
  const tid = token.tid.toLowerCase();
  return connector.tenant_id?.toLowerCase() === tid || connector.consented_tenant_id?.toLowerCase() === tid ? token.oid : null;
}
