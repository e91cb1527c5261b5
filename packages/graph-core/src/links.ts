import { GraphLinkRefusedError } from './errors';

/**
 * An absolute link as a URL, provided it is on `origin` (scheme://host[:port] of the Graph root);
 * otherwise GraphLinkRefusedError. Graph's own nextLink/deltaLink always point back at the Graph root
 * that answered, so a link elsewhere is either a hostile answer or a tampered checkpoint.
 */
export function checkedLink(link: string, origin: string): URL {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new GraphLinkRefusedError(link, origin);
  }
  if (url.origin !== origin || url.username || url.password) throw new GraphLinkRefusedError(link, origin);
  return url;
}
