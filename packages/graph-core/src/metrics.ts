import { Counter, Histogram, type Registry } from 'prom-client';
import type { RouteCounters } from './stats';

/** Receives every counter update of every GraphClient given it (see GraphClientOptions.metrics). */
export type GraphStatsSink = (tenantId: string, route: string, delta: Partial<RouteCounters> & { latencyMs?: number }) => void;

/**
 * graph-core's per-route counters as Prometheus metrics in `registry`, labelled by tenant and route
 * (routes are templates such as `GET /groups/{id}/members`, so the label set stays small). A service
 * passes the returned sink to the GraphClients it creates and serves the registry.
 */
export function graphMetrics(registry: Registry): GraphStatsSink {
  const labelNames = ['tenant', 'route'] as const;
  const counter = (name: string, help: string) => new Counter({ name, help, labelNames, registers: [registry] });
  const requests = counter('warden_graph_requests_total', 'HTTP requests sent to Microsoft Graph (a $batch counts once; retries count)');
  const ru = counter('warden_graph_resource_units_total', 'Resource units spent, as Graph reported them (estimated when it did not)');
  const throttled = counter('warden_graph_throttled_total', 'Answers with status 429');
  const retries = counter('warden_graph_retries_total', 'Requests sent again after a 401, 429, 503, 504 or network error');
  const errors = counter('warden_graph_errors_total', 'Requests that failed for good, or attempts lost to a network error');
  const latency = new Histogram({
    name: 'warden_graph_request_duration_seconds',
    help: 'Time from sending a request to reading its whole answer',
    labelNames,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return (tenant, route, d) => {
    const labels = { tenant, route };
    if (d.requests) requests.inc(labels, d.requests);
    if (d.ru) ru.inc(labels, d.ru);
    if (d.throttled) throttled.inc(labels, d.throttled);
    if (d.retries) retries.inc(labels, d.retries);
    if (d.errors) errors.inc(labels, d.errors);
    if (d.latencyMs !== undefined) latency.observe(labels, d.latencyMs / 1000);
  };
}
