// Strings of every app in one file per language (i18n/id.js, i18n/en.js: flat keys namespaced by app,
// e.g. "kiosk.pick_service"). Indonesian is the default. The language is kept per app in localStorage.
import id from './i18n/id.js';
import en from './i18n/en.js';

export var LANGUAGES = {id: id, en: en};
export var DEFAULT_LANG = 'id';
var current = DEFAULT_LANG;
var appName = 'app';

export function initLang(app, fallback) {
  appName = app;
  var saved = localStorage.getItem('qms.' + app + '.lang');
  current = LANGUAGES[saved] ? saved : (LANGUAGES[fallback] ? fallback : DEFAULT_LANG);
  document.documentElement.lang = current;
  return current;
}

export function getLang() { return current; }

export function setLang(lang) {
  if (!LANGUAGES[lang]) return current;
  current = lang;
  localStorage.setItem('qms.' + appName + '.lang', lang);
  document.documentElement.lang = lang;
  translate(document);
  return current;
}

// t('kiosk.position', {n: 3}) → the string with {n} replaced; a missing key falls back to ID, then to the key.
export function t(key, vars) {
  var s = LANGUAGES[current][key];
  if (s === undefined) s = LANGUAGES[DEFAULT_LANG][key];
  if (s === undefined) s = key;
  if (vars) s = s.replace(/\{(\w+)\}/g, function (m, k) { return vars[k] === undefined ? m : String(vars[k]); });
  return s;
}

// Fills [data-i18n] (text), [data-i18n-aria] (aria-label) and [data-i18n-placeholder] under root.
export function translate(root) {
  Array.prototype.forEach.call(root.querySelectorAll('[data-i18n]'), function (el) { el.textContent = t(el.getAttribute('data-i18n')); });
  Array.prototype.forEach.call(root.querySelectorAll('[data-i18n-aria]'), function (el) { el.setAttribute('aria-label', t(el.getAttribute('data-i18n-aria'))); });
  Array.prototype.forEach.call(root.querySelectorAll('[data-i18n-placeholder]'), function (el) { el.setAttribute('placeholder', t(el.getAttribute('data-i18n-placeholder'))); });
}

// A language picker: one button per language (aria-pressed on the current one) in container.
export function languagePicker(container, onChange) {
  container.innerHTML = '';
  container.setAttribute('role', 'group');
  container.setAttribute('aria-label', t('common.language'));
  Object.keys(LANGUAGES).forEach(function (lang) {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'lang-btn';
    b.lang = lang;
    b.textContent = LANGUAGES[lang]['common.language_name'];
    b.setAttribute('data-lang', lang);
    b.setAttribute('aria-pressed', String(lang === current));
    b.addEventListener('click', function () {
      setLang(lang);
      Array.prototype.forEach.call(container.children, function (c) { c.setAttribute('aria-pressed', String(c.getAttribute('data-lang') === lang)); });
      if (onChange) onChange(lang);
    });
    container.appendChild(b);
  });
}

// Durations and times in the current language.
export function formatWait(seconds) {
  if (seconds === null || seconds === undefined) return t('common.eta_unknown');
  var min = Math.max(1, Math.round(seconds / 60));
  return min < 60 ? t('common.eta_minutes', {n: min}) : t('common.eta_hours', {h: Math.floor(min / 60), m: min % 60});
}

export function formatTime(iso, timeZone) {
  if (!iso) return '';
  var opts = {hour: '2-digit', minute: '2-digit'};
  if (timeZone) opts.timeZone = timeZone;
  try { return new Date(iso).toLocaleTimeString(current === 'id' ? 'id-ID' : 'en-GB', opts); } catch (e) { return new Date(iso).toLocaleTimeString(); }
}
