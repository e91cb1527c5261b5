import { Field, InputType } from 'type-graphql';
import { z } from 'zod';
import type { AuthMethod } from '@warden/database';
import { BadUserInputError } from '../../errors';
import { AuthMethodEnum } from '../shared/enums';

@InputType()
export class CreateConnectorInput {
  @Field(() => String)
  displayName!: string;

  @Field(() => AuthMethodEnum)
  authMethod!: AuthMethod;

  @Field(() => String, { nullable: true })
  tenantId?: string | null;

  @Field(() => String, { nullable: true })
  clientId?: string | null;

  @Field(() => String, { nullable: true, description: 'Write-only: stored encrypted, never returned.' })
  clientSecret?: string | null;

  @Field(() => String, { nullable: true, description: "CERTIFICATE method: the app's public certificate (PEM). Write-only." })
  certificatePem?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "CERTIFICATE method: the certificate's private key (PEM). Write-only: stored encrypted, never returned.",
  })
  privateKeyPem?: string | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false })
  skipAdGroups?: boolean | null;

  @Field(() => String, {
    nullable: true,
    description: "Defaults to https://graph.microsoft.com; must be https and allowed by the deployment's configuration.",
  })
  graphBaseUrl?: string | null;

  @Field(() => String, { nullable: true, description: 'Defaults to https://login.microsoftonline.com; same rules as graphBaseUrl.' })
  authorityHost?: string | null;

  @Field(() => [String], { nullable: true, description: 'Platform users who own the connector; the caller is added when empty.' })
  owners?: string[] | null;
}

@InputType()
export class UpdateConnectorInput {
  @Field(() => String, { nullable: true })
  displayName?: string | null;

  @Field(() => String, { nullable: true })
  tenantId?: string | null;

  @Field(() => String, { nullable: true })
  clientId?: string | null;

  @Field(() => String, { nullable: true })
  clientSecret?: string | null;

  @Field(() => String, { nullable: true })
  certificatePem?: string | null;

  @Field(() => String, { nullable: true })
  privateKeyPem?: string | null;

  @Field(() => Boolean, { nullable: true })
  skipAdGroups?: boolean | null;

  @Field(() => [String], { nullable: true })
  owners?: string[] | null;
}

const opt = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);
const tenantId = z
  .string()
  .trim()
  .regex(
    /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z0-9][a-z0-9.-]{1,253})$/i,
    'must be a tenant id (GUID) or a verified domain',
  );
const clientId = z
  .string()
  .trim()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be an application (client) id GUID');
const pem = (label: string) =>
  z
    .string()
    .max(20_000)
    .refine((v) => v.includes('-----BEGIN') && v.includes(label), `must be a PEM ${label.toLowerCase()}`);
const owners = z.array(z.string().trim().min(1).max(256)).max(50);

const CreateSchema = z.object({
  displayName: z.string().trim().min(1).max(200),
  authMethod: z.enum(['CLIENT_SECRET', 'CERTIFICATE', 'OAUTH']),
  tenantId: opt(tenantId),
  clientId: opt(clientId),
  clientSecret: opt(z.string().min(1).max(1024)),
  certificatePem: opt(pem('CERTIFICATE')),
  privateKeyPem: opt(pem('PRIVATE KEY')),
  skipAdGroups: opt(z.boolean()),
  graphBaseUrl: opt(z.string().max(300)),
  authorityHost: opt(z.string().max(300)),
  owners: opt(owners),
});
export type ValidCreateInput = z.infer<typeof CreateSchema>;

const UpdateSchema = z.object({
  displayName: opt(z.string().trim().min(1).max(200)),
  tenantId: opt(tenantId),
  clientId: opt(clientId),
  clientSecret: opt(z.string().min(1).max(1024)),
  certificatePem: opt(pem('CERTIFICATE')),
  privateKeyPem: opt(pem('PRIVATE KEY')),
  skipAdGroups: opt(z.boolean()),
  owners: opt(owners),
});
export type ValidUpdateInput = z.infer<typeof UpdateSchema>;

/** zod's issues become one BAD_USER_INPUT naming each bad field; values (maybe secrets) are never echoed. */
function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new BadUserInputError(`invalid input: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
}

export function validateCreate(input: CreateConnectorInput): ValidCreateInput {
  const v = parse(CreateSchema, { ...input });
  checkMethodFields(v.authMethod, v);
  return v;
}

export function validateUpdate(input: UpdateConnectorInput, method: AuthMethod): ValidUpdateInput {
  const v = parse(UpdateSchema, { ...input });
  checkMethodFields(method, v);
  return v;
}

function checkMethodFields(
  method: AuthMethod,
  v: { tenantId?: string; clientSecret?: string; certificatePem?: string; privateKeyPem?: string },
): void {
  const hasCert = v.certificatePem !== undefined || v.privateKeyPem !== undefined;
  if (method === 'CLIENT_SECRET' && hasCert)
    throw new BadUserInputError('certificatePem/privateKeyPem apply to the CERTIFICATE method only');
  if (method === 'CERTIFICATE' && v.clientSecret !== undefined)
    throw new BadUserInputError('clientSecret applies to the CLIENT_SECRET method only');
  if (method === 'CERTIFICATE' && hasCert && (v.certificatePem === undefined || v.privateKeyPem === undefined)) {
    throw new BadUserInputError('give certificatePem and privateKeyPem together');
  }
  // An OAUTH connector signs in with the deployment's own app, which many tenants may have consented
  // to: its tenant comes only from a completed, verified admin consent, never from input.
  if (method === 'OAUTH' && v.tenantId !== undefined) {
    throw new BadUserInputError(
      'tenantId cannot be set on an OAUTH connector; its tenant is recorded when an administrator of that tenant completes admin consent (beginAdminConsent)',
    );
  }
  if (method === 'OAUTH' && (v.clientSecret !== undefined || hasCert)) {
    throw new BadUserInputError("OAUTH connectors use the deployment's app; connect them with beginAdminConsent instead of credentials");
  }
}
