import { expect, test } from '@playwright/test';
import { escapeRegExp, gql, signIn, stack } from './fixtures';

interface Node {
  id: string;
  displayName: string;
  entitlements: { id: string; slug: string; grantable: boolean }[];
}

/** A grantable group membership and a user who does not hold it, both with names unique in the tenant. */
async function pickGroupAndUser(): Promise<{
  group: Node;
  member: { id: string; slug: string };
  user: { id: string; displayName: string };
}> {
  const q = `query($c: ID!, $t: ResourceType) { resources(connectorId: $c, type: $t, first: 200) { edges { node { id displayName entitlements { id slug grantable } } } } }`;
  const groups = (await gql<{ resources: { edges: { node: Node }[] } }>(q, { c: stack.connectorId, t: 'GROUP' })).resources.edges.map(
    (e) => e.node,
  );
  const users = (await gql<{ resources: { edges: { node: Node }[] } }>(q, { c: stack.connectorId, t: 'USER' })).resources.edges.map(
    (e) => e.node,
  );
  const unique = (list: Node[], n: Node) =>
    list.filter((o) => o.displayName.toLowerCase().includes(n.displayName.toLowerCase())).length === 1;
  for (const group of groups) {
    const member = group.entitlements.find((e) => e.slug === 'member' && e.grantable);
    if (!member || !unique(groups, group)) continue;
    const holders = await gql<{ entitlement: { grants: { edges: { node: { principal: { id: string } } }[] } } }>(
      'query($id: ID!) { entitlement(id: $id) { grants(first: 500) { edges { node { principal { id } } } } } }',
      { id: member.id },
    );
    const held = new Set(holders.entitlement.grants.edges.map((e) => e.node.principal.id));
    const user = users.find((u) => !held.has(u.id) && unique(users, u));
    if (user) return { group, member, user };
  }
  throw new Error('no grantable group with a user outside it in the emulator tenant');
}

test('scenario 3: search a user, open a group, grant membership for 1 hour, see the task succeed and the holder appear', async ({
  page,
}) => {
  const { group, user } = await pickGroupAndUser();
  await signIn(page, stack.admin);

  await page.getByRole('link', { name: 'Explore' }).click();
  await page.getByRole('textbox', { name: 'Search', exact: true }).fill(user.displayName);
  const results = page.getByRole('table', { name: 'Search results' });
  await expect(results.getByRole('link', { name: user.displayName, exact: true })).toBeVisible();
  await results.getByRole('link', { name: user.displayName, exact: true }).click();
  await expect(page.getByRole('heading', { name: user.displayName, level: 2 })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Effective access' }).or(page.getByText('Holds nothing.'))).toBeVisible();

  await page.getByRole('link', { name: 'Explore' }).click();
  await page.locator('label', { hasText: /^Groups$/ }).click();
  await expect(page.getByRole('radio', { name: 'Groups' })).toBeChecked();
  await page.getByRole('textbox', { name: 'Search', exact: true }).fill(group.displayName);
  await results.getByRole('link', { name: group.displayName, exact: true }).click();
  await expect(page.getByRole('heading', { name: group.displayName, level: 2 })).toBeVisible();
  await page.getByRole('button', { name: 'Show holders of member' }).click();
  await expect(page.getByRole('heading', { name: /Holders of/ })).toBeVisible();

  await page.getByRole('button', { name: 'Grant', exact: true }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('combobox', { name: 'Principal' }).fill(user.displayName);
  await page.getByRole('option', { name: new RegExp(`^${escapeRegExp(user.displayName)}`) }).click();
  await expect(dialog.getByRole('combobox', { name: 'Expires' })).toHaveValue('1 hour');
  await dialog.getByRole('button', { name: 'Grant access' }).click();

  const task = page.getByTestId('task-state');
  await expect(task).toContainText('Succeeded', { timeout: 60_000 });
  const holders = page.getByRole('table', { name: 'Holders' });

  const row = holders.getByRole('row', { name: new RegExp(escapeRegExp(user.displayName)) });
  // The list is virtualized: scroll through it (from the top) until the new holder's row is rendered.
  const region = page.getByRole('region', { name: 'Holders (scrollable)' });
  await region.evaluate((el) => el.scrollTo({ top: 0 }));
  await expect
    .poll(
      async () => {
        if ((await row.count()) > 0) return true;
        await region.evaluate((el) => {
          if (el.scrollTop + el.clientHeight >= el.scrollHeight) el.scrollTo({ top: 0 });
          else el.scrollBy(0, el.clientHeight * 0.8);
        });
        return false;
      },
      { timeout: 60_000, intervals: [100] },
    )
    .toBe(true);
  await expect(row).toContainText('direct');
  // Time-bound: the Expires cell holds a time, not the dash of permanent access.
  await expect(row.getByRole('cell').nth(3)).not.toHaveText('—');
});
