// Times for people: when an occurrence starts, in the viewer's zone and the host's.
// No DOM, no I/O. Dates and weekdays are written the British way ("Thu 1 Apr, 14:00"),
// whatever the browser's locale, so every page reads the same.

const LOCALE = 'en-GB';
const formatters = new Map(); // "zone|withYear" -> Intl.DateTimeFormat

/** The IANA time zone of this browser, e.g. "Europe/London". */
export function viewerZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** A zone's city for people: the last part of the IANA name, underscores as spaces ("Los Angeles"). */
export function cityOf(zone) {
  if (!zone) return '';
  return zone.split('/').pop().replaceAll('_', ' ');
}

/** Every zone the browser knows, sorted, always including this browser's own. */
export function timeZones() {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const all = new Set(zones);
  all.add(viewerZone());
  all.add('UTC');
  return [...all].sort();
}

function formatter(zone, withYear) {
  const key = `${zone}|${withYear}`;
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(LOCALE, {
      weekday: 'short', day: 'numeric', month: 'short', year: withYear ? 'numeric' : undefined,
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: zone,
    });
    formatters.set(key, format);
  }
  return format;
}

/** {day: "Thu 1 Apr", time: "14:00", year} of an instant in `zone`. */
function wallClock(date, zone, withYear = false) {
  const parts = Object.fromEntries(
    formatter(zone, withYear).formatToParts(date).map((part) => [part.type, part.value]),
  );
  const day = [parts.weekday, parts.day, parts.month, parts.year].filter(Boolean).join(' ');
  return { day, time: `${parts.hour}:${parts.minute}`, year: parts.year };
}

function asDate(value) {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function yearIn(date, zone) {
  return new Intl.DateTimeFormat(LOCALE, { year: 'numeric', timeZone: zone }).format(date);
}

/**
 * When an occurrence starts, for the viewer:
 * "Thu 1 Apr, 14:00 your time · 13:00 London", or "Thu 1 Apr, 13:00 London" when the
 * viewer is in the host's zone. The host's day is repeated only when it differs.
 *
 * @param {string} startsAt  ISO instant (UTC)
 * @param {string} hostZone  the host's IANA zone
 * @param {{viewer?: string, now?: Date}} [options]
 */
export function formatOccurrenceTime(startsAt, hostZone, { viewer = viewerZone(), now = new Date() } = {}) {
  const date = asDate(startsAt);
  if (!date) return String(startsAt ?? '');
  const zone = hostZone || viewer;
  const withYear = yearIn(date, viewer) !== yearIn(now, viewer);
  const host = wallClock(date, zone, withYear);
  if (zone === viewer) return `${host.day}, ${host.time} ${cityOf(zone)}`;
  const mine = wallClock(date, viewer, withYear);
  const hostDay = host.day === mine.day ? '' : `${host.day}, `;
  return `${mine.day}, ${mine.time} your time · ${hostDay}${host.time} ${cityOf(zone)}`;
}

/** An instant in the viewer's zone: "Thu 1 Apr, 14:00" (with the year when not this one). */
export function formatDateTime(value, { viewer = viewerZone(), now = new Date() } = {}) {
  const date = asDate(value);
  if (!date) return String(value ?? '');
  const withYear = yearIn(date, viewer) !== yearIn(now, viewer);
  const { day, time } = wallClock(date, viewer, withYear);
  return `${day}, ${time}`;
}

/** A calendar date "2026-04-30" as "Thu 30 Apr 2026". */
export function formatDate(isoDate) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDate ?? '');
  if (!match) return String(isoDate ?? '');
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat(LOCALE, {
      weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC',
    }).formatToParts(date).map((part) => [part.type, part.value]),
  );
  return `${parts.weekday} ${parts.day} ${parts.month} ${parts.year}`;
}

/** A length of time: "35 s", "42 min", "1 h 5 min". */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.round(Number(seconds) || 0));
  if (total < 60) return `${total} s`;
  const minutes = Math.round(total / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}

/** A minute count for people: "60 minutes", "1 h 30 min". */
export function formatMinutes(minutes) {
  const value = Math.round(Number(minutes) || 0);
  if (value < 60) return `${value} minutes`;
  return formatDuration(value * 60);
}

/** The wall-clock time of `date` in `zone` as a datetime-local value, "2026-04-02T13:00". */
export function localInputValue(date, zone = viewerZone()) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
      hourCycle: 'h23', timeZone: zone,
    }).formatToParts(date).map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
}
