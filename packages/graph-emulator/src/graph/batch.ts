import type { EmulatorCore } from '../core';
import { errorBody } from '../http/errors';
import type { GraphRequest, GraphResponse } from '../http/types';
import type { GraphRouter } from './dispatch';

export function createBatchHandler(_core: EmulatorCore, _router: GraphRouter): (outer: GraphRequest) => Promise<GraphResponse> {
  return async (outer) => ({ status: 501, headers: { 'request-id': outer.requestId, 'client-request-id': outer.clientRequestId },
    body: errorBody('NotImplemented', '$batch is not implemented yet.', outer.requestId, outer.clientRequestId) });
}
