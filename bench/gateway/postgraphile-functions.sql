-- The baseline's relations. The Warden tables join on natural keys (connector + Graph id / entitlement
-- key) without foreign keys, so PostGraphile v4 cannot infer them; these STABLE SQL functions are its
-- "computed columns" (<table>_<field>) and one custom query, written to match the gateway's queries
-- (same filters, same order by id, inherited rows hidden when a direct row exists).
CREATE OR REPLACE FUNCTION grants_principal(g grants) RETURNS resources LANGUAGE sql STABLE AS $$
  SELECT r.* FROM resources r WHERE r.connector_id = g.connector_id AND r.external_id = g.principal_external_id
$$;
CREATE OR REPLACE FUNCTION grants_entitlement(g grants) RETURNS entitlements LANGUAGE sql STABLE AS $$
  SELECT e.* FROM entitlements e WHERE e.connector_id = g.connector_id AND e.key = g.entitlement_key
$$;
CREATE OR REPLACE FUNCTION entitlements_resource(e entitlements) RETURNS resources LANGUAGE sql STABLE AS $$
  SELECT r.* FROM resources r WHERE r.connector_id = e.connector_id AND r.external_id = e.resource_external_id
$$;
CREATE OR REPLACE FUNCTION entitlements_holders(e entitlements) RETURNS SETOF grants LANGUAGE sql STABLE AS $$
  SELECT g.* FROM grants g WHERE g.connector_id = e.connector_id AND g.entitlement_key = e.key
    AND (g.direct OR NOT EXISTS (SELECT 1 FROM grants d WHERE d.connector_id = g.connector_id AND d.entitlement_key = g.entitlement_key
      AND d.principal_external_id = g.principal_external_id AND d.direct))
  ORDER BY g.id
$$;
CREATE OR REPLACE FUNCTION resources_held_grants(r resources) RETURNS SETOF grants LANGUAGE sql STABLE AS $$
  SELECT g.* FROM grants g WHERE g.connector_id = r.connector_id AND g.principal_external_id = r.external_id
    AND (g.direct OR NOT EXISTS (SELECT 1 FROM grants d WHERE d.connector_id = g.connector_id AND d.entitlement_key = g.entitlement_key
      AND d.principal_external_id = g.principal_external_id AND d.direct))
  ORDER BY g.id
$$;
CREATE OR REPLACE FUNCTION search_resources(connector uuid, kind text, term text) RETURNS SETOF resources LANGUAGE sql STABLE AS $$
  SELECT r.* FROM resources r WHERE r.connector_id = connector AND r.type = kind
    AND r.search_text LIKE '%' || replace(replace(replace(lower(term), '\', '\\'), '%', '\%'), '_', '\_') || '%'
  ORDER BY r.id
$$;
