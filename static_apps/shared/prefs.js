// Display preferences of a device or a person: large font and high contrast, kept per app in localStorage and
// applied as classes on <html> (base.css defines what they change).

function key(app, name) { return 'qms.' + app + '.' + name; }

export function applyPrefs(app) {
  var root = document.documentElement;
  root.classList.toggle('large-font', localStorage.getItem(key(app, 'largeFont')) === '1');
  root.classList.toggle('high-contrast', localStorage.getItem(key(app, 'highContrast')) === '1');
}

export function togglePref(app, name) {
  var on = localStorage.getItem(key(app, name)) !== '1';
  localStorage.setItem(key(app, name), on ? '1' : '0');
  applyPrefs(app);
  return on;
}

export function getPref(app, name) { return localStorage.getItem(key(app, name)) === '1'; }
