// The sentence of an announcement, as clip keys (static_apps/audio/manifest.json) and as text.
// "Nomor antrian A-007, silakan ke loket 3" / "Number A-007, please go to counter 3".
// Pure functions, no DOM: the announcer plays what these return.

var PHRASES = {
  id: { intro: 'Nomor antrian', to_counter: 'silakan ke loket' },
  en: { intro: 'Number', to_counter: 'please go to counter' }
};

// Clip keys of a whole number 0..9999 (larger numbers are read digit by digit).
export function numberKeys(n, lang) {
  if (n > 9999) {
    return String(n).split('').map(function (d) { return 'n_' + d; });
  }
  if (n < 20) return ['n_' + n];
  if (n < 100) {
    var ones = n % 10;
    return ones ? ['n_' + (n - ones), 'n_' + ones] : ['n_' + n];
  }
  var big = n < 1000 ? 100 : 1000;
  var lead = Math.floor(n / big);
  var rest = n % big;
  var head;
  if (lang === 'id' && lead === 1) head = ['n_' + big]; // seratus, seribu
  else head = numberKeys(lead, lang).concat([big === 100 ? 'hundred' : 'thousand']);
  return rest ? head.concat(numberKeys(rest, lang)) : head;
}

// Letters are spelled, runs of digits are read as a number ("A-007" -> A, seven); anything else is a pause.
export function codeKeys(code, lang) {
  var keys = [];
  var parts = String(code).match(/[A-Za-z]|[0-9]+/g) || [];
  for (var i = 0; i < parts.length; i++) {
    var part = parts[i];
    if (/[0-9]/.test(part)) keys = keys.concat(numberKeys(parseInt(part, 10), lang));
    else keys.push('letter_' + part.toLowerCase());
  }
  return keys;
}

// The part of a counter's name that is spoken after "silakan ke loket": its last word when that is a short
// code such as "3", "12", "B" or "A2" ("Loket 3" -> "3"); otherwise the whole name (text only: clips cannot
// say arbitrary words, so the clip sentence then ends with the phrase).
export function counterDesignation(name) {
  var words = String(name || '').trim().split(/\s+/);
  var last = words[words.length - 1] || '';
  if (/^[A-Za-z]{0,2}[0-9]{0,4}$/.test(last) && last.length > 0) return { code: last, text: last };
  return { code: null, text: String(name || '').trim() };
}

// {text, keys}: clip keys of the sentence, starting with 'chime'; '|' marks a pause.
export function sentence(lang, ticketNumber, counterName) {
  var p = PHRASES[lang] || PHRASES.id;
  var where = counterDesignation(counterName);
  var keys = ['chime', '|', 'intro'].concat(codeKeys(ticketNumber, lang), ['|', 'to_counter']);
  if (where.code) keys = keys.concat(codeKeys(where.code, lang));
  var text = p.intro + ' ' + ticketNumber + ', ' + p.to_counter + (where.text ? ' ' + where.text : '');
  return { text: text, keys: keys };
}
