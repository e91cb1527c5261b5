import { randomInt, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '@warden/database';
import type { DispatchLogger } from '../../src';

/** The seed of this run's jitter: TEST_SEED or random, printed so a failure can be replayed. */
export function testSeed(file: string): number {
  const seed = process.env.TEST_SEED !== undefined ? Number(process.env.TEST_SEED) : randomInt(0, 2 ** 31);
  console.log(`${file}: TEST_SEED=${seed}`);
  return seed;
}

export interface Logged {
  level: 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

export function collectingLogger(): DispatchLogger & { lines: Logged[] } {
  const lines: Logged[] = [];
  const at = (level: Logged['level']) => (obj: object, msg: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

export const TENANT = '11111111-2222-4333-8444-555555555555';

/** A connector for TENANT with USER resources; returns their resources.id by name. */
export async function seedDirectory(db: Kysely<Database>) {
  const c = await db
    .insertInto('connectors')
    .values({ display_name: 'Contoso', auth_method: 'CLIENT_SECRET', tenant_id: TENANT })
    .returning('id')
    .executeTakeFirstOrThrow();
  const user = async (name: string, profile: Record<string, unknown>, externalId = randomUUID()) => {
    const r = await db
      .insertInto('resources')
      .values({ connector_id: c.id, type: 'USER', external_id: externalId, display_name: name, profile: JSON.stringify(profile) })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: r.id, externalId };
  };
  const carol = await user('Carol', { mail: 'carol@contoso.example', userPrincipalName: 'carol.upn@contoso.example' });
  const dave = await user('Dave', { mail: null, userPrincipalName: 'dave@contoso.example' });
  const erin = await user('Erin', { mail: 'erin@contoso.example' });
  const group = await db
    .insertInto('resources')
    .values({
      connector_id: c.id,
      type: 'GROUP',
      external_id: randomUUID(),
      display_name: 'Team',
      profile: JSON.stringify({ mail: 'team@x.example' }),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { connectorId: c.id, carol, dave, erin, groupId: group.id };
}

/** A browser session linking `subject` to (TENANT, oid), as the gateway's sign-in records it. */
export async function signIn(db: Kysely<Database>, subject: string, oid: string) {
  const later = new Date(Date.now() + 3_600_000);
  await db
    .insertInto('browser_sessions')
    .values({
      id_hash: randomUUID(),
      subject,
      role: 'MEMBER',
      tid: TENANT,
      oid,
      access_token: 'sealed',
      access_expires_at: later,
      last_seen_at: new Date(),
      absolute_expires_at: later,
    })
    .execute();
}
