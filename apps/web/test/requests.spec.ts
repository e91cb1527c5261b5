import { expect, test } from '@playwright/test';
import { escapeRegExp, gql, signIn, stack } from './fixtures';

/** A group membership the member does not hold, requestable under the demo policy, with a name unique in the catalog. */
async function pickEntitlement(): Promise<string> {
  const me = await gql<{ resources: { edges: { node: { id: string } }[] } }>(
    'query($c: ID!, $s: String) { resources(connectorId: $c, type: USER, search: $s, first: 5) { edges { node { id } } } }',
    { c: stack.connectorId, s: stack.member },
  );
  const memberId = me.resources.edges[0]!.node.id;
  const held = await gql<{ resource: { grants: { edges: { node: { entitlement: { id: string } } }[] } } }>(
    'query($id: ID!) { resource(id: $id) { grants(first: 500) { edges { node { entitlement { id } } } } } }',
    { id: memberId },
  );
  const heldIds = new Set(held.resource.grants.edges.map((e) => e.node.entitlement.id));
  const catalog = await gql<{ requestableEntitlements: { entitlement: { id: string; displayName: string } }[] }>(
    '{ requestableEntitlements(search: "Member of", first: 100) { entitlement { id displayName } } }',
  );
  const names = catalog.requestableEntitlements.map((e) => e.entitlement.displayName);
  const pick = catalog.requestableEntitlements.find(
    (e) => !heldIds.has(e.entitlement.id) && names.filter((n) => n.includes(e.entitlement.displayName)).length === 1,
  );
  if (!pick) throw new Error('nothing requestable for the member');
  return pick.entitlement.displayName;
}

test('scenario 4: a member requests access, the manager signs in and approves, the member sees it ACTIVE', async ({ browser }) => {
  const entitlement = await pickEntitlement();
  const memberContext = await browser.newContext();
  const member = await memberContext.newPage();
  await signIn(member, stack.member, '/me');
  await expect(member.getByTestId('whoami')).toContainText('member');
  await expect(member.getByRole('heading', { name: 'Request access' })).toBeVisible();

  await member.getByRole('combobox', { name: 'Entitlement' }).fill(entitlement);
  await member.getByRole('option', { name: new RegExp(`^${escapeRegExp(entitlement)} \\(`) }).click();
  await member.getByRole('combobox', { name: 'Duration' }).click();
  await member.getByRole('option', { name: '1 day' }).click();
  await member.getByRole('textbox', { name: 'Justification' }).fill('Quarter-end close needs it');
  await member.getByRole('button', { name: 'Request access' }).click();
  const row = member.getByRole('table', { name: 'My requests' }).getByRole('row', { name: new RegExp(escapeRegExp(entitlement)) });
  await expect(row).toContainText('Pending');

  const managerContext = await browser.newContext();
  const manager = await managerContext.newPage();
  await signIn(manager, stack.manager, '/approvals');
  const card = manager.getByTestId(`approval-${entitlement}`);
  await expect(card).toContainText('Quarter-end close needs it');
  await card.getByRole('button', { name: 'Approve' }).click();
  await manager.getByRole('dialog').getByRole('textbox', { name: 'Comment' }).fill('ok for the close');
  await manager.getByRole('dialog').getByRole('button', { name: 'Approve request' }).click();
  await expect(card).toHaveCount(0);

  // The member's page follows the request live: approved, provisioned, ACTIVE.
  await expect(row).toContainText('Active', { timeout: 60_000 });
  await expect(row).toContainText('ok for the close');
  await memberContext.close();
  await managerContext.close();
});
