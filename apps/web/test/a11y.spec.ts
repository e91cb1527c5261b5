import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { gql, signIn, stack, startReviewFor } from './fixtures';

/** axe-core on the page as it is now: no serious or critical violation (WCAG 2.x A/AA rules and best practices). */
async function expectAccessible(page: Page, name: string): Promise<void> {
  const result = await new AxeBuilder({ page }).analyze();
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => `${n.target.join(' ')} ${n.html.slice(0, 160)} ${n.failureSummary ?? ''}`).join('; ')}`,
    );
  expect(bad, `accessibility violations on ${name}`).toEqual([]);
}

test('scenario 6: every page of the console passes axe-core without serious violations', async ({ page }) => {
  // Fourteen pages scanned in one test: on the 2-core CI box the audit page alone (500 rows of the
  // 10,005 the scale test's seed leaves) took 42 s of axe in one run, 1.1 min in all on a quiet box.
  test.setTimeout(300_000);
  await page.goto(`${stack.url}/connectors`);
  await expect(page.getByRole('link', { name: 'Sign in with Microsoft Entra ID' })).toBeVisible();
  await expectAccessible(page, 'sign-in');

  await signIn(page, stack.admin, '/connectors');
  await expect(page.getByRole('table', { name: 'Connectors' })).toBeVisible();
  await expectAccessible(page, 'connectors');

  await page.getByRole('link', { name: 'Add connector' }).click();
  await expect(page.getByRole('heading', { name: 'Add connector' })).toBeVisible();
  await expectAccessible(page, 'add connector');

  await page.goto(`${stack.url}/connectors/${stack.connectorId}`);
  await expect(page.getByRole('table', { name: 'Logs' })).toBeVisible();
  await expectAccessible(page, 'connector detail');

  await page.getByRole('link', { name: 'Explore' }).click();
  await expect(page.getByRole('table', { name: 'Search results' })).toBeVisible();
  await expectAccessible(page, 'explore');

  const group = await gql<{ resources: { edges: { node: { id: string } }[] } }>(
    'query($c: ID!) { resources(connectorId: $c, type: GROUP, first: 1) { edges { node { id } } } }',
    { c: stack.connectorId },
  );
  await page.goto(`${stack.url}/resources/${group.resources.edges[0]!.node.id}`);
  await expect(page.getByRole('heading', { name: 'Effective access' })).toBeVisible();
  await expect(page.getByRole('heading', { name: /Holders of/ })).toBeVisible();
  await expectAccessible(page, 'resource');

  await page.getByRole('link', { name: 'Policies' }).click();
  await expect(page.getByRole('table', { name: 'Access policies' })).toBeVisible();
  await expectAccessible(page, 'policies');
  await page.getByRole('button', { name: 'Edit' }).first().click();
  await expect(page.getByRole('dialog')).toBeVisible();
  await expectAccessible(page, 'policy editor');
  await page.keyboard.press('Escape');

  await page.getByRole('link', { name: 'My access' }).click();
  await expect(page.getByRole('heading', { name: 'My requests' })).toBeVisible();
  await expectAccessible(page, 'my access');

  await page.getByRole('link', { name: 'Approvals' }).click();
  await expect(page.getByRole('heading', { name: 'Approvals' })).toBeVisible();
  await expectAccessible(page, 'approvals');

  // Reviews: a campaign whose items the signed-in admin decides (USERS reviewers: its own subject).
  const reviewId = await startReviewFor(page);
  await page.getByRole('link', { name: 'Reviews' }).click();
  await expect(page.getByRole('table', { name: 'Campaigns' })).toBeVisible();
  await expectAccessible(page, 'reviews');
  await page.getByRole('link', { name: 'New campaign' }).click();
  await expect(page.getByRole('heading', { name: 'New access review' })).toBeVisible();
  await expectAccessible(page, 'new review');
  await page.goto(`${stack.url}/reviews/${reviewId}`);
  await expect(page.getByRole('table', { name: 'Review items' })).toBeVisible();
  await expectAccessible(page, 'review campaign');
  await page.getByRole('link', { name: 'Review my items' }).click();
  await expect(page.getByTestId('queue-count')).toBeVisible();
  await expectAccessible(page, 'review queue');

  await page.getByRole('link', { name: 'Audit' }).click();
  await expect(page.getByRole('table', { name: 'Audit events' })).toBeVisible();
  await expectAccessible(page, 'audit');

  // On a narrow screen too (the navigation collapses behind a labelled button).
  await page.setViewportSize({ width: 390, height: 800 });
  await expectAccessible(page, 'audit (narrow)');
  await page.getByRole('button', { name: 'Toggle navigation' }).click();
  await expect(page.getByRole('link', { name: 'Connectors' })).toBeVisible();
  await expectAccessible(page, 'navigation (narrow)');
});

test('scenario 6: a member sees My access, Approvals and its review queue, accessible, and no staff navigation', async ({ page }) => {
  await signIn(page, stack.member);
  await expect(page.getByTestId('whoami')).toContainText('member');
  await expect(page.getByRole('heading', { name: 'Request access' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Connectors' })).toHaveCount(0);
  await expectAccessible(page, 'member: my access');
  await page.getByRole('link', { name: 'Approvals' }).click();
  await expect(page.getByRole('heading', { name: 'Approvals' })).toBeVisible();
  await expectAccessible(page, 'member: approvals');
  await page.getByRole('link', { name: 'Reviews' }).click();
  await expect(page.getByRole('heading', { name: 'My review queue' })).toBeVisible();
  await expect(page.getByTestId('queue-count').or(page.getByText('Nothing is waiting for your review.'))).toBeVisible();
  await expectAccessible(page, 'member: review queue');
});
