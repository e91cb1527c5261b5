import { expect, type Page } from '@playwright/test';
import { stackInfo, type StackInfo } from './stack-info';

export const stack: StackInfo = stackInfo();

/** Real sign-in: the console's button → the gateway's /auth/login → the emulator's sign-in page → back. */
export async function signIn(page: Page, upn: string, path = '/'): Promise<void> {
  await page.goto(`${stack.url}${path}`);
  await page.getByRole('link', { name: 'Sign in with Microsoft Entra ID' }).click();
  await page.getByLabel('Email, phone, or Skype').fill(upn);
  await page.getByRole('button', { name: 'Next', exact: true }).click();
  await expect(page.getByTestId('whoami')).toBeVisible();
}

/** GraphQL with the stack's SUPER_ADMIN development token, for picking test data outside the browser. */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await fetch(`${stack.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await r.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/** Fills the Add connector wizard with a client secret of one of the emulator's apps and creates it. */
export async function addConnector(page: Page, name: string, app: 'readonly' | 'provisioning'): Promise<void> {
  await page.getByRole('link', { name: 'Connectors' }).click();
  await page.getByRole('link', { name: 'Add connector' }).click();
  await page.getByLabel('Name', { exact: false }).first().fill(name);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('radio', { name: 'Client secret' }).check();
  await page.getByLabel('Tenant id').fill(stack.emulator.tenantId);
  await page.getByLabel('Client id').fill(stack.apps[app].clientId);
  await page.getByRole('textbox', { name: 'Client secret' }).fill(stack.apps[app].clientSecret);
  await page.getByLabel('Microsoft Graph URL').fill(stack.emulator.baseUrl);
  await page.getByLabel('Authority host').fill(stack.emulator.authorityHost);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Create connector' }).click();
}

/** Starts (through the API) a campaign over one group's members that the page's signed-in user reviews. */
export async function startReviewFor(page: Page): Promise<string> {
  const subject = await page.evaluate(async () => {
    const r = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { subject } }' }),
    });
    return ((await r.json()) as { data: { me: { subject: string } } }).data.me.subject;
  });
  const groups = await gql<{ resources: { edges: { node: { entitlements: { id: string; slug: string }[] } }[] } }>(
    'query($c: ID!) { resources(connectorId: $c, type: GROUP, first: 5) { edges { node { entitlements { id slug } } } } }',
    { c: stack.connectorId },
  );
  const entitlementIds = groups.resources.edges.flatMap((e) => e.node.entitlements.filter((x) => x.slug === 'member').map((x) => x.id));
  const created = await gql<{ createAccessReview: { id: string } }>(
    'mutation($input: AccessReviewInput!) { createAccessReview(input: $input) { id } }',
    {
      input: {
        name: 'Quarterly group review',
        connectorId: stack.connectorId,
        entitlementIds,
        reviewers: 'USERS',
        fallbackSubjects: [subject],
        dueAt: new Date(Date.now() + 14 * 86_400_000).toISOString(),
      },
    },
  );
  return created.createAccessReview.id;
}

/** Display names hold regex characters (guests are "Alex Garcia (litware.example)"): match them literally. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
