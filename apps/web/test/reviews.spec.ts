import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { parse } from 'csv-parse/sync';
import { gql, signIn, stack, startReviewFor } from './fixtures';

interface Holder {
  id: string;
  type: string;
  displayName: string;
  manager: { id: string; displayName: string; profile: Record<string, unknown> } | null;
}
interface Choice {
  group: string;
  entitlementId: string;
  entitlement: string;
  /** The manager who reviews `mine` and can sign in. */
  reviewer: string;
  /** Principal ids whose items the reviewer decides. */
  mine: string[];
  total: number;
}

/**
 * A group membership of the demo connector with few direct holders, at least two of them USERS whose
 * manager (the same one) can sign in and is not the admin: that manager reviews them. Picked the same
 * way for a given emulator seed, so the scenario is deterministic.
 */
async function pickCampaign(): Promise<Choice> {
  const groups = await gql<{
    resources: {
      edges: { node: { displayName: string; entitlements: { id: string; slug: string; displayName: string; grantable: boolean }[] } }[];
    };
  }>(
    'query($c: ID!) { resources(connectorId: $c, type: GROUP, first: 200) { edges { node { displayName entitlements { id slug displayName grantable } } } } }',
    {
      c: stack.connectorId,
    },
  );
  const candidates: Choice[] = [];
  for (const { node: g } of groups.resources.edges) {
    const e = g.entitlements.find((x) => x.slug === 'member' && x.grantable);
    if (!e) continue;
    const names = groups.resources.edges.filter(
      (o) => o.node.displayName.includes(g.displayName) || g.displayName.includes(o.node.displayName),
    );
    if (names.length !== 1) continue; // the type-ahead must offer this one entitlement only
    const holders = await gql<{ entitlement: { grants: { totalCount: number; edges: { node: { principal: Holder } }[] } } }>(
      'query($id: ID!) { entitlement(id: $id) { grants(first: 60, includeInherited: false) { totalCount edges { node { principal { id type displayName manager { id displayName profile } } } } } } }',
      { id: e.id },
    );
    const grants = holders.entitlement.grants;
    if (grants.totalCount > 60 || grants.totalCount < 2) continue;
    const byManager = new Map<string, { upn: string; principals: string[] }>();
    for (const { node } of grants.edges) {
      const m = node.principal.manager;
      const upn = m?.profile['userPrincipalName'];
      if (node.principal.type !== 'USER' || !m || m.profile['accountEnabled'] !== true || typeof upn !== 'string') continue;
      if (upn.toLowerCase() === stack.admin.toLowerCase()) continue;
      const entry = byManager.get(m.id) ?? { upn, principals: [] };
      entry.principals.push(node.principal.id);
      byManager.set(m.id, entry);
    }
    const best = [...byManager.values()].sort((a, b) => b.principals.length - a.principals.length || a.upn.localeCompare(b.upn))[0];
    if (best && best.principals.length >= 2)
      candidates.push({
        group: g.displayName,
        entitlementId: e.id,
        entitlement: e.displayName,
        reviewer: best.upn,
        mine: best.principals,
        total: grants.totalCount,
      });
  }
  candidates.sort((a, b) => a.total - b.total || a.entitlement.localeCompare(b.entitlement));
  const pick = candidates[0];
  if (!pick) throw new Error(`seed ${stack.seed}: no group membership with two reports of one manager`);
  return pick;
}

async function pickOption(page: Page, label: string, option: string | RegExp): Promise<void> {
  await page.getByRole('combobox', { name: label, exact: true }).click();
  await page.getByRole('option', { name: option }).click();
}

test('scenario 5: a reviewer completes a campaign with bulk decisions following the recommendations; the admin downloads the evidence', async ({
  browser,
}) => {
  const choice = await pickCampaign();
  console.log(
    `scenario 5 (seed ${stack.seed}): ${choice.entitlement}, ${choice.total} holders, ${choice.mine.length} reviewed by ${choice.reviewer}`,
  );
  const name = `Scenario five ${Date.now().toString(36)}`;

  // The admin creates the campaign: one group's members, their managers review, inactive after 30 days.
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await signIn(admin, stack.admin, '/connectors');
  await admin.getByRole('link', { name: 'Reviews' }).click();
  await admin.getByRole('link', { name: 'New campaign' }).click();
  await admin.getByRole('textbox', { name: 'Name' }).fill(name);
  await pickOption(admin, 'Connector', 'Demo tenant');
  await admin.getByRole('combobox', { name: 'Entitlements' }).fill(choice.group);
  await admin.getByRole('option', { name: choice.entitlement, exact: true }).click();
  await admin.keyboard.press('Escape');
  await expect(admin.getByRole('combobox', { name: 'Reviewers', exact: true })).toHaveValue("The principal's manager");
  await admin.getByRole('textbox', { name: 'Inactivity (days)' }).fill('30');
  await admin.getByRole('button', { name: 'Start campaign' }).click();
  await expect(admin.getByRole('heading', { name })).toBeVisible();
  const reviewId = new URL(admin.url()).pathname.split('/').pop()!;
  await expect(admin.getByTestId('figure-items')).toHaveText(String(choice.total));
  await expect(admin.getByTestId('review-status')).toHaveText('Active');

  // The reviewer signs in (another browser) and decides its whole queue in two bulk decisions.
  const reviewerContext = await browser.newContext();
  const reviewer = await reviewerContext.newPage();
  await signIn(reviewer, choice.reviewer, '/reviews');
  // A member's Reviews page is its queue; a reviewer with a platform role opens it from the campaigns.
  const queueLink = reviewer.getByRole('link', { name: 'My review queue' });
  const queueHeading = reviewer.getByRole('heading', { name: 'My review queue' });
  await expect(queueLink.or(queueHeading)).toBeVisible();
  if (await queueLink.isVisible()) await queueLink.click();
  const count = reviewer.getByTestId('queue-count');
  await expect(count).toHaveText(`${choice.mine.length} of ${choice.mine.length} pending item(s) shown`);
  // SegmentedControl: its radio inputs are visually hidden; the reader clicks the label.
  await reviewer.locator('label', { hasText: /^Entitlement$/ }).click();
  await expect(reviewer.getByRole('radio', { name: 'Entitlement' })).toBeChecked();
  await expect(reviewer.getByTestId(`group-${choice.entitlement}`)).toBeVisible();

  await reviewer.getByRole('switch', { name: 'Recommended revoke only' }).check();
  const revokeRows = await reviewer.locator('tr[data-recommendation="REVOKE"]').count();
  if (revokeRows > 0) {
    await reviewer.getByRole('checkbox', { name: /^Select all shown/ }).check();
    await reviewer.getByRole('textbox', { name: /Comment/ }).fill('inactive: revoke as recommended');
    await reviewer.getByRole('button', { name: `Revoke selected (${revokeRows})` }).click();
    await expect(reviewer.getByText('No pending item is recommended for revoke.')).toBeVisible();
  }
  await reviewer.getByRole('switch', { name: 'Recommended revoke only' }).uncheck();
  const keepRows = choice.mine.length - revokeRows;
  await expect(count).toHaveText(`${keepRows} of ${keepRows} pending item(s) shown`);
  await expect(reviewer.locator('tr[data-recommendation="REVOKE"]')).toHaveCount(0);
  await reviewer.getByRole('checkbox', { name: /^Select all shown/ }).check();
  await reviewer.getByRole('textbox', { name: /Comment/ }).fill('still needed');
  await reviewer.getByRole('button', { name: `Keep selected (${keepRows})` }).click();
  await expect(reviewer.getByText('Nothing is waiting for your review.')).toBeVisible();

  // The admin's page followed the decisions live; it completes the campaign (the rest default to Keep).
  await expect(admin.getByTestId('figure-decided')).toHaveText(String(choice.mine.length));
  await expect(admin.getByTestId('figure-revoked')).toHaveText(String(revokeRows));
  await admin.getByRole('button', { name: 'Complete', exact: true }).click();
  await admin.getByRole('dialog').getByRole('button', { name: 'Complete campaign' }).click();
  await expect(admin.getByTestId('review-status')).toHaveText('Completed', { timeout: 90_000 });
  await expect(admin.getByTestId('figure-remediated')).toHaveText(String(revokeRows));

  // The evidence: one CSV row per item, the reviewer's decisions those of the recommendations.
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.getByTestId('review-export').click()]);
  expect(download.suggestedFilename()).toMatch(/\.csv$/);
  const rows = parse(await readFile(await download.path()), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  expect(rows).toHaveLength(choice.total);
  const mine = rows.filter((r) => r['decided_by'] && r['decided_by'] !== 'system');
  expect(mine).toHaveLength(choice.mine.length);
  for (const r of mine) {
    expect(r['decision'], `${r['principal']}: ${r['recommendation_reason']}`).toBe(r['recommendation'] === 'REVOKE' ? 'REVOKE' : 'KEEP');
    expect(r['comment']).toBe(r['decision'] === 'REVOKE' ? 'inactive: revoke as recommended' : 'still needed');
    if (r['decision'] === 'REVOKE') expect(r['remediation']).toBe('SUCCEEDED');
  }
  expect(mine.filter((r) => r['decision'] === 'REVOKE')).toHaveLength(revokeRows);
  for (const r of rows.filter((x) => !mine.includes(x))) {
    expect(r['decision']).toBe('KEEP');
    expect(r['decided_by']).toBe('system');
  }
  console.log(
    `scenario 5: campaign ${reviewId}: ${revokeRows} revoked, ${keepRows} kept by the reviewer, ${choice.total - choice.mine.length} kept by default`,
  );
  await reviewerContext.close();
  await adminContext.close();
});

test('scenario 5: a refused bulk decision shows its code and records nothing (all or nothing)', async ({ page }) => {
  await signIn(page, stack.admin, '/reviews');
  const reviewId = await startReviewFor(page);
  await page.goto(`${stack.url}/reviews/queue?review=${reviewId}`);
  await expect(page.getByTestId('queue-count')).toBeVisible();
  await page.getByRole('checkbox', { name: /^Select all shown/ }).check();
  // The campaign closes while the reviewer has its queue open: the whole batch is refused.
  await gql('mutation($id: ID!) { cancelAccessReview(id: $id) { id } }', { id: reviewId });
  await page.getByRole('button', { name: /^Keep selected/ }).click();
  const alert = page.getByRole('alert').filter({ hasText: 'Nothing was recorded' });
  await expect(alert).toContainText('CONFLICT: ');
  await expect(alert).toContainText('decisions change only while it is ACTIVE');
  const after = await gql<{ accessReview: { status: string; progress: { decided: number } } }>(
    'query($id: ID!) { accessReview(id: $id) { status progress { decided } } }',
    { id: reviewId },
  );
  expect(after.accessReview).toEqual({ status: 'CANCELLED', progress: { decided: 0 } });
});
