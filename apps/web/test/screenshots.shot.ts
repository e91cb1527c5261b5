import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { gql, signIn, stack, startReviewFor } from './fixtures';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/console');

test('screenshots of the main pages', async ({ page }) => {
  await signIn(page, stack.admin, '/connectors');
  await expect(page.getByRole('table', { name: 'Connectors' })).toBeVisible();
  await page.screenshot({ path: `${out}/connectors.png` });

  await page.goto(`${stack.url}/connectors/${stack.connectorId}`);
  await expect(page.getByRole('table', { name: 'Logs' })).toBeVisible();
  await page.screenshot({ path: `${out}/connector-detail.png`, fullPage: true });

  await page.getByRole('link', { name: 'Connectors' }).click();
  await page.getByRole('link', { name: 'Add connector' }).click();
  await page.getByRole('textbox', { name: 'Name' }).fill('Contoso (read-only)');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Tenant id').fill(stack.emulator.tenantId);
  await page.getByLabel('Client id').fill(stack.apps.readonly.clientId);
  await page.getByRole('textbox', { name: 'Client secret' }).fill(stack.apps.readonly.clientSecret);
  await page.getByLabel('Microsoft Graph URL').fill(stack.emulator.baseUrl);
  await page.getByLabel('Authority host').fill(stack.emulator.authorityHost);
  await page.screenshot({ path: `${out}/add-connector.png`, fullPage: true });
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('button', { name: 'Create connector' }).click();
  await expect(page.getByTestId('perm-provisioning-permissions-grant-and-revoke-').getByRole('listitem').first()).toBeVisible();
  await page.screenshot({ path: `${out}/missing-permissions.png`, fullPage: true });

  await page.getByRole('link', { name: 'Explore' }).click();
  await expect(page.getByRole('table', { name: 'Search results' })).toBeVisible();
  await page.screenshot({ path: `${out}/explore.png` });

  const groups = await gql<{ resources: { edges: { node: { id: string } }[] } }>(
    'query($c: ID!) { resources(connectorId: $c, type: GROUP, first: 3) { edges { node { id } } } }',
    { c: stack.connectorId },
  );
  await page.goto(`${stack.url}/resources/${groups.resources.edges[0]!.node.id}`);
  await expect(page.getByRole('table', { name: 'Holders' })).toBeVisible();
  await page.screenshot({ path: `${out}/resource.png`, fullPage: true });

  await page.getByRole('link', { name: 'Policies' }).click();
  await expect(page.getByRole('table', { name: 'Access policies' })).toBeVisible();
  await page.screenshot({ path: `${out}/policies.png` });

  await page.getByRole('link', { name: 'Audit' }).click();
  await expect(page.getByRole('table', { name: 'Audit events' })).toBeVisible();
  await page.screenshot({ path: `${out}/audit.png` });

  const reviewId = await startReviewFor(page);
  await page.getByRole('link', { name: 'Reviews' }).click();
  await expect(page.getByRole('table', { name: 'Campaigns' })).toBeVisible();
  await page.screenshot({ path: `${out}/reviews.png` });
  await page.goto(`${stack.url}/reviews/${reviewId}`);
  await expect(page.getByRole('table', { name: 'Review items' })).toBeVisible();
  await page.screenshot({ path: `${out}/review.png`, fullPage: true });
  await page.getByRole('link', { name: 'Review my items' }).click();
  await expect(page.getByTestId('queue-count')).toBeVisible();
  await page.screenshot({ path: `${out}/review-queue.png` });
});

test('screenshots of a member: My access with a pending request, and the manager approvals', async ({ browser }) => {
  const member = await (await browser.newContext()).newPage();
  await signIn(member, stack.member, '/me');
  await member.getByRole('combobox', { name: 'Entitlement' }).fill('Member of');
  await member.getByRole('option').first().click();
  await member.getByRole('combobox', { name: 'Duration' }).click();
  await member.getByRole('option', { name: '1 day' }).click();
  await member.getByRole('textbox', { name: 'Justification' }).fill('Month-end reporting');
  await member.getByRole('button', { name: 'Request access' }).click();
  await expect(member.getByRole('table', { name: 'My requests' })).toContainText('Pending');
  await member.screenshot({ path: `${out}/my-access.png`, fullPage: true });

  const manager = await (await browser.newContext()).newPage();
  await signIn(manager, stack.manager, '/approvals');
  await expect(manager.getByText('Month-end reporting')).toBeVisible();
  await manager.screenshot({ path: `${out}/approvals.png`, fullPage: true });
});
