import { badRequest } from '../http/errors';
import type { GraphRequest } from '../http/types';
import { isGuid } from '../tenant/ids';
import { requireBody } from './common';

/** The object id from a $ref body: {"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{id}"}. */
export function refTarget(req: GraphRequest): string {
  const body = requireBody(req);
  const raw = body['@odata.id'];
  if (typeof raw !== 'string' || !raw) {
    throw badRequest("The request body must contain a '@odata.id' reference to a directory object.", 'BadRequest');
  }
  return idFromObjectUrl(raw);
}

export function idFromObjectUrl(raw: string): string {
  const m = /(?:^|\/)(?:directoryObjects|users|groups|servicePrincipals|devices|contacts|orgContacts)\/([^/?#]+)\/?(?:[?#].*)?$/i.exec(raw);
  const id = m ? decodeURIComponent(m[1] as string) : '';
  if (!isGuid(id)) throw badRequest(`Invalid object identifier '${m ? id : raw}'.`);
  return id.toLowerCase();
}

export const alreadyExists = (rel: string) =>
  badRequest(`One or more added object references already exist for the following modified properties: '${rel}'.`);
