import { cacheExchange } from '@urql/exchange-graphcache';
import { createClient as createWsClient } from 'graphql-ws';
import { Client, fetchExchange, subscriptionExchange } from 'urql';

/**
 * One urql client for the console: the normalized cache (graphcache), GraphQL over HTTP for queries
 * and mutations, graphql-ws for subscriptions. Both go to the origin that served the console, so the
 * gateway's session cookie authenticates them (no token ever reaches the browser).
 */
export function createConsoleClient(): Client {
  const ws = createWsClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    lazy: true,
    retryAttempts: 5,
  });
  return new Client({
    url: '/graphql',
    // The gateway accepts cookie-authenticated requests only as JSON POSTs (its CSRF rule).
    preferGetMethod: false,
    fetchOptions: { credentials: 'same-origin', headers: { accept: 'application/graphql-response+json, application/json' } },
    exchanges: [
      cacheExchange({
        keys: {
          // Value types without an id: embedded in their parent.
          SyncStats: () => null,
          PageInfo: () => null,
          Me: () => null,
          ConnectorLogEntry: () => null,
          AdminConsentStart: () => null,
          ConnectorConnection: () => null,
          ConnectorEdge: () => null,
          ResourceConnection: () => null,
          ResourceEdge: () => null,
          GrantConnection: () => null,
          GrantEdge: () => null,
          SyncRunConnection: () => null,
          SyncRunEdge: () => null,
          ConnectorLogConnection: () => null,
          ConnectorLogEdge: () => null,
          AuditEventConnection: () => null,
          AuditEventEdge: () => null,
          AccessReviewConnection: () => null,
          AccessReviewEdge: () => null,
          AccessReviewItemConnection: () => null,
          AccessReviewItemEdge: () => null,
          AccessReviewProgress: () => null,
          Decider: () => null,
        },
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
}
