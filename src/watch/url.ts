// `--url` for `ethburst watch`: the base of a running `ethburst serve`.
// A path is allowed (an exporter behind a proxy prefix); it is kept as the
// base the API paths are resolved against.

/** The base URL (with a trailing slash), or a reason it is not one. */
export function parseBaseUrl(text: string): URL | string {
  // "host:port" is what people type after kubectl port-forward.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return `"${text}" is not a URL (e.g. http://127.0.0.1:19810)`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${text}": only http:// and https:// are supported`;
  if (url.hostname === '') return `"${text}" has no host`;
  if (url.search !== '' || url.hash !== '') return `"${text}": no query or fragment, just the server's base URL`;
  if (url.username !== '' || url.password !== '') return `"${text}": credentials in the URL are not supported`;
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}
