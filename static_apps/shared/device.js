// Device bootstrap: a kiosk or display is opened once at /apps/<app>/#token=<device token>; the token is kept in
// localStorage (through the api's token store) and removed from the address bar, so a reload keeps working and
// the token does not linger in the URL, the history or a screenshot.

// Returns the device token (from the URL when present, else the stored one), or null.
export function bootstrapDevice(api) {
  var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m) {
    api.useToken(decodeURIComponent(m[1]));
    var rest = location.hash.replace(/(^#|&)token=[^&]+/, '$1').replace(/^#&/, '#').replace(/^#$/, '');
    history.replaceState(null, '', location.pathname + location.search + rest);
  }
  return api.store.accessToken;
}
