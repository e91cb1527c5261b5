/** Creates the demo connector once (found again by name on later starts) and queues its first full sync. */
export const DEMO_CONNECTOR_NAME = 'Demo tenant (emulator)';

interface DemoCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  graphBaseUrl: string;
  authorityHost: string;
}

async function gql<T>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await r.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL: ${body.errors?.map((e) => e.message).join('; ') ?? r.status}`);
  return body.data;
}

export async function createOrRefreshDemoConnector(
  url: string,
  token: string,
  creds: DemoCredentials,
): Promise<{ id: string; status: string; syncRunId: string | null }> {
  const list = await gql<{
    connectors: {
      edges: Array<{ node: { id: string; displayName: string; tenantId: string | null; lastSyncRun: { id: string } | null } }>;
    };
  }>(url, token, '{ connectors(first: 500) { edges { node { id displayName tenantId lastSyncRun { id } } } } }');
  const existing = list.connectors.edges.map((e) => e.node).find((n) => n.displayName === DEMO_CONNECTOR_NAME);
  if (existing) {
    // The emulator may have been restarted with other secrets: refresh them, keep the data.
    const u = await gql<{ updateConnector: { id: string; status: string } }>(
      url,
      token,
      'mutation($id: ID!, $input: UpdateConnectorInput!) { updateConnector(id: $id, input: $input) { id status } }',
      { id: existing.id, input: { tenantId: creds.tenantId, clientId: creds.clientId, clientSecret: creds.clientSecret } },
    );
    let syncRunId: string | null = null;
    if (!existing.lastSyncRun) syncRunId = await triggerFull(url, token, existing.id);
    return { id: u.updateConnector.id, status: u.updateConnector.status, syncRunId };
  }
  const c = await gql<{ createConnector: { id: string; status: string } }>(
    url,
    token,
    'mutation($input: CreateConnectorInput!) { createConnector(input: $input) { id status } }',
    { input: { displayName: DEMO_CONNECTOR_NAME, authMethod: 'CLIENT_SECRET', ...creds } },
  );
  const syncRunId = await triggerFull(url, token, c.createConnector.id);
  return { id: c.createConnector.id, status: c.createConnector.status, syncRunId };
}

async function triggerFull(url: string, token: string, connectorId: string): Promise<string> {
  const r = await gql<{ triggerSync: { id: string } }>(
    url,
    token,
    'mutation($id: ID!) { triggerSync(connectorId: $id, mode: FULL) { id } }',
    { id: connectorId },
  );
  return r.triggerSync.id;
}
