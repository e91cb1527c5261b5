import {
  Alert,
  Anchor,
  Button,
  Checkbox,
  Group,
  PasswordInput,
  Radio,
  Stack,
  Stepper,
  TagsInput,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { MissingPermissions } from '../components/Permissions';
import { ErrorAlert } from '../components/QueryState';
import { ConnectorStatusBadge } from '../components/StatusBadge';
import { graphql } from '../graphql';
import { TriggerSync, useLiveStatus } from './Connectors';

const CreateConnector = graphql(`
  mutation CreateConnector($input: CreateConnectorInput!) {
    createConnector(input: $input) {
      id
      displayName
      status
    }
  }
`);

const BeginConsent = graphql(`
  mutation BeginConsent($connectorId: ID!) {
    beginAdminConsent(connectorId: $connectorId) {
      startUrl
    }
  }
`);

export const ConnectorSetupQuery = graphql(`
  query ConnectorSetup($id: ID!) {
    connector(id: $id) {
      id
      displayName
      status
      statusMessage
      authMethod
      missingReadPermissions
      missingProvisioningPermissions
      grantedPermissions
      lastSyncRun {
        id
        status
      }
    }
  }
`);

type Method = 'CLIENT_SECRET' | 'CERTIFICATE' | 'OAUTH';

/** The seed's walk: name and owners → method and credentials → create, then watch it connect. */
export default function AddConnectorPage(): ReactNode {
  const [step, setStep] = useState(0);
  const [name, setName] = useState('');
  const [owners, setOwners] = useState<string[]>([]);
  const [method, setMethod] = useState<Method>('CLIENT_SECRET');
  const [tenantId, setTenantId] = useState('');
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const [certificatePem, setCertificate] = useState('');
  const [privateKeyPem, setPrivateKey] = useState('');
  const [skipAdGroups, setSkipAdGroups] = useState(false);
  const [graphBaseUrl, setGraphBaseUrl] = useState('');
  const [authorityHost, setAuthorityHost] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const [createState, create] = useMutation(CreateConnector);
  const [consentState, consent] = useMutation(BeginConsent);
  const [syncState, triggerSync] = useMutation(TriggerSync);

  const credentialsComplete =
    method === 'OAUTH' ||
    (tenantId.trim() !== '' &&
      clientId.trim() !== '' &&
      (method === 'CLIENT_SECRET' ? secret !== '' : certificatePem !== '' && privateKeyPem !== ''));

  async function submit() {
    const r = await create({
      input: {
        displayName: name.trim(),
        authMethod: method,
        owners,
        skipAdGroups,
        ...(tenantId.trim() ? { tenantId: tenantId.trim() } : {}),
        ...(clientId.trim() && method !== 'OAUTH' ? { clientId: clientId.trim() } : {}),
        ...(method === 'CLIENT_SECRET' ? { clientSecret: secret } : {}),
        ...(method === 'CERTIFICATE' ? { certificatePem, privateKeyPem } : {}),
        ...(graphBaseUrl.trim() ? { graphBaseUrl: graphBaseUrl.trim() } : {}),
        ...(authorityHost.trim() ? { authorityHost: authorityHost.trim() } : {}),
      },
    });
    if (r.data) {
      const id = r.data.createConnector.id;
      setCreated(id);
      setSecret('');
      setPrivateKey('');
      setStep(3);
      // The first full sync starts at once when the credentials work (an OAUTH connector needs consent first).
      if (r.data.createConnector.status !== 'ERROR' && method !== 'OAUTH') await triggerSync({ connectorId: id, mode: 'FULL' });
    }
  }

  async function startConsent(id: string) {
    const r = await consent({ connectorId: id });
    if (r.data) window.location.assign(r.data.beginAdminConsent.startUrl);
  }

  return (
    <Stack maw={860}>
      <Title order={2}>Add connector</Title>
      <Stepper active={step} onStepClick={(s) => !created && s < step && setStep(s)} allowNextStepsSelect={false} size="sm">
        <Stepper.Step label="Name and owners">
          <Stack mt="md">
            <TextInput
              label="Name"
              description="How people will see this tenant in Warden"
              required
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
            />
            <TagsInput
              label="Owners"
              description="Platform users (sign-in subjects) who may change this connector; you are added when empty. Press Enter after each."
              value={owners}
              onChange={setOwners}
            />
            <Group justify="flex-end">
              <Button onClick={() => setStep(1)} disabled={name.trim() === ''}>
                Next
              </Button>
            </Group>
          </Stack>
        </Stepper.Step>
        <Stepper.Step label="Credentials">
          <Stack mt="md">
            <Radio.Group label="Method" value={method} onChange={(v) => setMethod(v as Method)} required>
              <Stack gap="xs" mt="xs">
                <Radio value="CLIENT_SECRET" label="Client secret" />
                <Radio value="CERTIFICATE" label="Certificate" />
                <Radio value="OAUTH" label="OAuth admin consent (the deployment's multi-tenant app)" />
              </Stack>
            </Radio.Group>
            <TextInput
              label="Tenant id"
              description={
                method === 'OAUTH' ? 'Optional: the consent tells which tenant it is' : 'Directory (tenant) id of the Entra tenant'
              }
              required={method !== 'OAUTH'}
              value={tenantId}
              onChange={(e) => setTenantId(e.currentTarget.value)}
            />
            {method !== 'OAUTH' && (
              <TextInput
                label="Client id"
                description="Application (client) id of the app registration"
                required
                value={clientId}
                onChange={(e) => setClientId(e.currentTarget.value)}
              />
            )}
            {method === 'CLIENT_SECRET' && (
              <PasswordInput
                label="Client secret"
                description="Stored encrypted; never shown again"
                required
                value={secret}
                onChange={(e) => setSecret(e.currentTarget.value)}
              />
            )}
            {method === 'CERTIFICATE' && (
              <>
                <Textarea
                  label="Certificate (PEM)"
                  required
                  autosize
                  minRows={3}
                  value={certificatePem}
                  onChange={(e) => setCertificate(e.currentTarget.value)}
                />
                <Textarea
                  label="Private key (PEM)"
                  description="Stored encrypted; never shown again"
                  required
                  autosize
                  minRows={3}
                  value={privateKeyPem}
                  onChange={(e) => setPrivateKey(e.currentTarget.value)}
                />
              </>
            )}
            <Checkbox
              label="Skip syncing Active Directory groups (groups synced from on-premises)"
              checked={skipAdGroups}
              onChange={(e) => setSkipAdGroups(e.currentTarget.checked)}
            />
            <TextInput
              label="Microsoft Graph URL"
              description="Leave empty for https://graph.microsoft.com (national clouds differ)"
              value={graphBaseUrl}
              onChange={(e) => setGraphBaseUrl(e.currentTarget.value)}
            />
            <TextInput
              label="Authority host"
              description="Leave empty for https://login.microsoftonline.com"
              value={authorityHost}
              onChange={(e) => setAuthorityHost(e.currentTarget.value)}
            />
            <Group justify="space-between">
              <Button variant="default" onClick={() => setStep(0)}>
                Back
              </Button>
              <Button onClick={() => setStep(2)} disabled={!credentialsComplete}>
                Next
              </Button>
            </Group>
          </Stack>
        </Stepper.Step>
        <Stepper.Step label="Create">
          <Stack mt="md">
            <Text>
              <strong>{name}</strong> · {method.replace('_', ' ').toLowerCase()}
              {tenantId ? ` · tenant ${tenantId}` : ''}
              {skipAdGroups ? ' · Active Directory groups skipped' : ''}
            </Text>
            <Text size="sm">
              Warden checks the credentials now and reads the permissions the app was granted, then starts the first full sync.
            </Text>
            <ErrorAlert error={createState.error} title="The connector was not created" />
            <Group justify="space-between">
              <Button variant="default" onClick={() => setStep(1)}>
                Back
              </Button>
              <Button onClick={() => void submit()} loading={createState.fetching}>
                Create connector
              </Button>
            </Group>
          </Stack>
        </Stepper.Step>
        <Stepper.Completed>
          {created && (
            <SetupResult
              id={created}
              startedRun={syncState.data?.triggerSync.id}
              onConsent={() => void startConsent(created)}
              consenting={consentState.fetching}
            />
          )}
          <ErrorAlert error={consentState.error} title="Admin consent could not start" />
          <ErrorAlert error={syncState.error} title="The first sync did not start" />
        </Stepper.Completed>
      </Stepper>
    </Stack>
  );
}

/** After creation: the live status and what is still missing, against the read-only and provisioning sets. */
export function SetupResult({
  id,
  startedRun,
  onConsent,
  consenting,
}: {
  id: string;
  /** The run this page started, once the gateway has queued it: re-read the connector to see it. */
  startedRun?: string;
  onConsent?: () => void;
  consenting?: boolean;
}): ReactNode {
  const [{ data, error }, refetch] = useQuery({ query: ConnectorSetupQuery, variables: { id } });
  const reload = useCallback(() => refetch({ requestPolicy: 'network-only' }), [refetch]);
  useEffect(() => {
    if (startedRun) reload();
  }, [startedRun, reload]);
  const c = data?.connector;
  const status = useLiveStatus(id, c?.status ?? 'NOT_CONNECTED', c?.lastSyncRun, reload);
  if (error) return <ErrorAlert error={error} />;
  if (!c) return null;
  return (
    <Stack mt="md">
      <Group>
        <Title order={3}>{c.displayName}</Title>
        <span data-testid="setup-status">
          <ConnectorStatusBadge status={status} />
        </span>
      </Group>
      {c.statusMessage && (
        <Alert color={c.status === 'ERROR' ? 'red' : 'blue'} role="status">
          {c.statusMessage}
        </Alert>
      )}
      {c.authMethod === 'OAUTH' && c.status === 'NOT_CONNECTED' && onConsent && (
        <Button onClick={onConsent} loading={consenting ?? false}>
          Grant admin consent
        </Button>
      )}
      {c.grantedPermissions.length > 0 || c.status !== 'NOT_CONNECTED' ? (
        <>
          <MissingPermissions
            title="Read-only permissions (sync)"
            permissions={c.missingReadPermissions}
            okText="All granted: Warden can sync this tenant."
          />
          <MissingPermissions
            title="Provisioning permissions (grant and revoke)"
            permissions={c.missingProvisioningPermissions}
            okText="All granted: Warden can grant and revoke access."
          />
        </>
      ) : null}
      <Anchor component={Link} to={`/connectors/${id}`}>
        Open the connector (sync progress and logs)
      </Anchor>
    </Stack>
  );
}
