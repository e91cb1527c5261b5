import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { gql, signIn, stack } from './fixtures';

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

  await page.getByRole('link', { name: 'Audit' }).click();
  await expect(page.getByRole('table', { name: 'Audit events' })).toBeVisible();
  await page.screenshot({ path: `${out}/audit.png` });
});
