// Labels of the server-rendered print page in the ticket's language; marks the page ready for printing.
import {initLang, setLang, formatWait} from '../shared/i18n.js';

var lang = document.documentElement.lang;
initLang('print', lang);
setLang(lang);
Array.prototype.forEach.call(document.querySelectorAll('[data-eta-seconds]'), function (el) {
  el.textContent = formatWait(Number(el.getAttribute('data-eta-seconds')));
});
document.body.setAttribute('data-ready', '1');
