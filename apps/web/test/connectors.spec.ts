import { expect, test } from '@playwright/test';
import { addConnector, signIn, stack } from './fixtures';

test('scenario 1: an admin adds a connector with a client secret, watches it go Syncing → Connected, then reads the logs', async ({
  page,
}) => {
  await signIn(page, stack.admin);
  await expect(page.getByTestId('whoami')).toContainText('SUPER_ADMIN');
  // Every status the new connector's badge shows, in order, recorded by the page itself (no sampling gaps).
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    const record = () => {
      const t = document.querySelector('[data-testid="setup-status"]')?.textContent ?? '';
      if (t && seen[seen.length - 1] !== t) seen.push(t);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await addConnector(page, 'Scenario one', 'provisioning');
  const seen = () => page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  await expect.poll(seen, { timeout: 90_000 }).toContain('Syncing');
  await expect.poll(async () => (await seen()).at(-1), { timeout: 90_000 }).toBe('Connected');
  const order = await seen();
  expect(order.indexOf('Syncing')).toBeLessThan(order.lastIndexOf('Connected'));
  await expect(page.getByTestId('perm-read-only-permissions-sync-')).toContainText('All granted');

  await page.getByRole('link', { name: /Open the connector/ }).click();
  await expect(page.getByRole('heading', { name: 'Scenario one' })).toBeVisible();
  const logs = page.getByTestId('logs');
  await expect(logs.getByRole('row').nth(1)).toBeVisible();
  await expect(logs).toContainText(/sync/i);
  await expect(page.getByRole('table', { name: 'Run history' })).toContainText('Succeeded');
  // The level filter: errors only (a clean sync has none).
  await page.getByText('Errors', { exact: true }).click();
  await expect(page.getByText('No log lines at this level.')).toBeVisible();
  await page.getByText('All', { exact: true }).click();
  await expect(logs.getByRole('row').nth(1)).toBeVisible();
});

test('scenario 2: the read-only app shows its missing provisioning permissions, with a copyable list', async ({ page }) => {
  await signIn(page, stack.admin);
  await addConnector(page, 'Scenario two (read-only)', 'readonly');
  const provisioning = page.getByTestId('perm-provisioning-permissions-grant-and-revoke-');
  await expect(provisioning.getByRole('listitem').first()).toBeVisible({ timeout: 30_000 });
  await expect(provisioning).toContainText('ReadWrite');
  await expect(page.getByTestId('perm-read-only-permissions-sync-')).toContainText('All granted');
  await expect(provisioning.getByRole('button', { name: /Copy the missing provisioning/ })).toBeVisible();
});
