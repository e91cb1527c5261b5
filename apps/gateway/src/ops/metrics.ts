import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per gateway instance, so tests starting several gateways never collide. */
export function createMetrics(opts: { maxOperationNames?: number } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'warden_gateway_' });
  const httpDuration = new Histogram({
    name: 'warden_gateway_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const operations = new Counter({
    name: 'warden_gateway_graphql_operations_total',
    help: 'GraphQL operations by type, name and outcome',
    labelNames: ['type', 'name', 'outcome'] as const,
    registers: [registry],
  });
  const subscriptions = new Counter({
    name: 'warden_gateway_subscriptions_total',
    help: 'graphql-ws subscriptions started',
    labelNames: ['field'] as const,
    registers: [registry],
  });
  const responseCache = new Counter({
    name: 'warden_gateway_response_cache_lookups_total',
    help: 'Response cache lookups of query operations by outcome (hit, miss, stale: found but retired by a change) and operation name',
    labelNames: ['outcome', 'name'] as const,
    registers: [registry],
  });
  const catchUp = new Histogram({
    name: 'warden_gateway_change_feed_catch_up_seconds',
    help: 'Round trip of a change-feed marker: how long a response-cache hit waits to have heard every change committed before it',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  return {
    registry,
    catchUp,
    httpDuration,
    operations,
    subscriptions,
    responseCache,
    operationName: operationNameLabel(opts.maxOperationNames ?? 100),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The `name` label of warden_gateway_graphql_operations_total, bounded: an unnamed operation is
 * "anonymous"; a name is its own label once an authenticated caller has used it and it was among
 * the first `max` distinct names so admitted (GraphQL names of at most 64 characters); everything
 * else — names first sent without a token, names after the first `max` — is "other". So the label
 * has at most `max` + 2 values, and anonymous callers cannot add any.
 */
export function operationNameLabel(max: number) {
  const known = new Set<string>();
  return (name: string | null | undefined, authenticated: boolean): string => {
    if (!name) return 'anonymous';
    if (known.has(name)) return name;
    if (authenticated && known.size < max && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) && name !== 'anonymous' && name !== 'other') {
      known.add(name);
      return name;
    }
    return 'other';
  };
}
