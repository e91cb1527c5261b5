import { AppShell, Burger, Button, Center, Group, Loader, NavLink, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { lazy, Suspense, type ReactNode } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { useQuery } from 'urql';
import { ErrorAlert } from './components/QueryState';
import { errorCode } from './errors';
import { isStaff, MeContext, MeQuery, type Me } from './me';
import { ConnectorsPage } from './pages/Connectors';
import { SignInPage } from './pages/SignIn';

// The first page (the shell and Connectors) is in the entry bundle; every other page loads on demand.
const AddConnectorPage = lazy(() => import('./pages/AddConnector'));
const ConnectorDetailPage = lazy(() => import('./pages/ConnectorDetail'));
const ExplorePage = lazy(() => import('./pages/Explore'));
const ResourcePage = lazy(() => import('./pages/Resource'));
const AuditPage = lazy(() => import('./pages/Audit'));
const MyAccessPage = lazy(() => import('./pages/MyAccess'));
const ApprovalsPage = lazy(() => import('./pages/Approvals'));
const PoliciesPage = lazy(() => import('./pages/Policies'));
const ReviewsPage = lazy(() => import('./pages/Reviews'));
const ReviewNewPage = lazy(() => import('./pages/ReviewNew'));
const ReviewPage = lazy(() => import('./pages/Review'));
const ReviewQueuePage = lazy(() => import('./pages/ReviewQueue'));

const NAV = [
  { to: '/me', label: 'My access', staff: false },
  { to: '/approvals', label: 'Approvals', staff: false },
  // Everyone reviews; a member's Reviews page is its own queue.
  { to: '/reviews', label: 'Reviews', staff: false },
  { to: '/connectors', label: 'Connectors', staff: true },
  { to: '/explore', label: 'Explore', staff: true },
  { to: '/policies', label: 'Policies', staff: true },
  { to: '/audit', label: 'Audit', staff: true },
] as const;

export function App(): ReactNode {
  const [{ data, fetching, error }] = useQuery({ query: MeQuery });
  const location = useLocation();
  if (fetching && !data)
    return (
      <Center h="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  if (errorCode(error) === 'UNAUTHENTICATED' || (!data && !error)) return <SignInPage />;
  if (error || !data)
    return (
      <Center h="100vh" p="md">
        <main>
          <ErrorAlert error={error} title="Warden is not reachable" />
        </main>
      </Center>
    );
  return (
    <MeContext.Provider value={data.me}>
      <Shell me={data.me} path={location.pathname} />
    </MeContext.Provider>
  );
}

function Shell({ me, path }: { me: Me; path: string }): ReactNode {
  const [opened, { toggle, close }] = useDisclosure();
  const staff = isStaff(me);
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Title order={1} size="h3">
              Warden
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" data-testid="whoami" truncate="end" maw={260}>
              {me.displayName ?? me.subject}
              {me.roles.length > 0 ? ` · ${me.roles.join(', ')}` : ' · member'}
            </Text>
            {/* A form POST: the gateway checks its Origin, ends the session and redirects to the provider. */}
            <form method="post" action="/auth/logout">
              <Button type="submit" variant="default" size="xs">
                Sign out
              </Button>
            </form>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main">
        <nav aria-label="Main navigation">
          {NAV.filter((n) => !n.staff || staff).map((n) => (
            <NavLink
              key={n.to}
              component={Link}
              to={n.to}
              label={n.label}
              active={path === n.to || path.startsWith(`${n.to}/`) || (n.to === '/explore' && path.startsWith('/resources/'))}
              onClick={close}
              variant="filled"
            />
          ))}
        </nav>
      </AppShell.Navbar>
      <AppShell.Main>
        <Suspense
          fallback={
            <Center p="lg">
              <Loader aria-label="Loading page" />
            </Center>
          }
        >
          <Routes>
            <Route path="/" element={<Navigate to={staff ? '/connectors' : '/me'} replace />} />
            <Route path="/connectors" element={<ConnectorsPage />} />
            <Route path="/connectors/new" element={<AddConnectorPage />} />
            <Route path="/connectors/:id" element={<ConnectorDetailPage />} />
            <Route path="/explore" element={<ExplorePage />} />
            <Route path="/resources/:id" element={<ResourcePage />} />
            <Route path="/audit" element={<AuditPage />} />
            <Route path="/me" element={<MyAccessPage />} />
            <Route path="/approvals" element={<ApprovalsPage />} />
            <Route path="/policies" element={<PoliciesPage />} />
            <Route path="/reviews" element={<ReviewsPage />} />
            <Route path="/reviews/new" element={<ReviewNewPage />} />
            <Route path="/reviews/queue" element={<ReviewQueuePage />} />
            <Route path="/reviews/:id" element={<ReviewPage />} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}

function NotFound(): ReactNode {
  return (
    <>
      <Title order={2}>Page not found</Title>
      <Button component={Link} to="/" mt="md" variant="light">
        Home
      </Button>
    </>
  );
}
