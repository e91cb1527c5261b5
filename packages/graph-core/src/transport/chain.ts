import {
  AuthenticationHandler,
  AuthenticationHandlerOptions,
  HTTPMessageHandler,
  TelemetryHandler,
  type AuthenticationProvider,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
// Not re-exported by the package index; the SDK's own handlers look options up through this class.
import { MiddlewareControl } from '@microsoft/microsoft-graph-client/lib/src/middleware/MiddlewareControl.js';
import { GovernedRequestOptions } from './governed-request';
import { GovernorMiddleware, type GovernorMiddlewareOptions } from './governor-middleware';

export interface Transport {
  /** The first middleware: what `GraphClient.sdk` is built on. */
  chain: Middleware;
  /** Hosts the SDK's handlers treat as Graph (the configured root's, e.g. the emulator's). */
  customHosts: Set<string>;
  /** One request through the chain; the answer has its body read and may have any status. */
  send(url: string, init: RequestInit, request: GovernedRequestOptions['o']): Promise<Response>;
}

/**
 * The SDK's middleware chain with our governor in the RetryHandler's place:
 * governor (budget, pauses, retries) → SDK AuthenticationHandler (bearer token per attempt)
 * → SDK TelemetryHandler (client-request-id, SdkVersion) → SDK HTTPMessageHandler (fetch).
 */
export function createTransport(
  opts: GovernorMiddlewareOptions & { root: string; getToken: (signal?: AbortSignal) => Promise<string> },
): Transport {
  const provider: AuthenticationProvider = { getAccessToken: () => opts.getToken() };
  const governor = new GovernorMiddleware(opts);
  const auth = new AuthenticationHandler(provider);
  const telemetry = new TelemetryHandler();
  const http = new HTTPMessageHandler();
  governor.setNext(auth);
  auth.setNext(telemetry);
  telemetry.setNext(http);
  const customHosts = new Set([new URL(opts.root).hostname]);
  return {
    chain: governor,
    customHosts,
    async send(url, init, request) {
      // The URL goes out exactly as given: Graph's nextLink and deltaLink must not be re-encoded,
      // which is why our own requests build a Context instead of going through Client.api().
      // The SDK's provider interface takes no AbortSignal: a per-request provider carries the caller's,
      // so a cancelled call stops waiting for a token too.
      const auth = new AuthenticationHandlerOptions({ getAccessToken: () => opts.getToken(request.signal) });
      const context: Context = {
        request: url,
        options: init,
        middlewareControl: new MiddlewareControl([new GovernedRequestOptions(request), auth]),
        customHosts,
      };
      await governor.execute(context);
      return context.response!;
    },
  };
}
