// Recurrence of scheduled rooms in words ("Weekly on Thursdays", "Monthly on the first
// Tuesday"), and the recurrence a scheduling form asks for. No DOM, no I/O.

import { formatDate } from './time.js';

export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const ORDINALS = { 1: 'first', 2: 'second', 3: 'third', 4: 'fourth', '-1': 'last' };

/** The calendar date of a local start ("2026-04-02T13:00"), or null. */
function dateOf(start) {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(start ?? '');
  if (!match) return null;
  return { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
}

/**
 * The weekday of a local start and its place in the month: the 2nd Thursday is
 * {weekday: 4, position: 2}; a fifth one counts as the last (-1).
 */
export function weekdayPosition(start) {
  const date = dateOf(start);
  if (!date) return null;
  const weekday = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
  const position = Math.ceil(date.day / 7);
  return { weekday, position: position > 4 ? -1 : position };
}

/** "Monthly on the first Tuesday" for a start date (and a position, when given). */
export function monthlyWords(start, position) {
  const place = weekdayPosition(start);
  if (!place) return 'Monthly on the same weekday';
  return `Monthly on the ${ORDINALS[position ?? place.position] ?? 'same'} ${WEEKDAYS[place.weekday]}`;
}

/** "Weekly on Thursdays" for a start date. */
export function weeklyWords(start, interval = 1) {
  const place = weekdayPosition(start);
  const on = place ? ` on ${WEEKDAYS[place.weekday]}s` : '';
  return interval > 1 ? `Every ${interval} weeks${on}` : `Weekly${on}`;
}

/**
 * A series' recurrence in words: "Doesn't repeat", "Weekly on Thursdays",
 * "Every 2 weeks on Thursdays", "Monthly on the first Tuesday".
 *
 * @param {{frequency?: string, interval?: number, weekday_position?: number}|null} recurrence
 * @param {string} start  the series' local start, "2026-04-02T13:00"
 */
export function describeRecurrence(recurrence, start) {
  const frequency = recurrence?.frequency ?? 'none';
  const interval = Number(recurrence?.interval) || 1;
  switch (frequency) {
    case 'weekly':
      return weeklyWords(start, interval);
    case 'monthly': {
      if (recurrence.weekday_position == null) {
        const date = dateOf(start);
        const on = date ? ` on day ${date.day}` : '';
        return interval > 1 ? `Every ${interval} months${on}` : `Monthly${on}`;
      }
      const words = monthlyWords(start, recurrence.weekday_position);
      return interval > 1 ? words.replace('Monthly', `Every ${interval} months`) : words;
    }
    default:
      return "Doesn't repeat";
  }
}

/** How a recurring series ends: "4 times", "until Thu 30 Apr 2026", or "". */
export function describeRecurrenceEnd(recurrence) {
  if (!recurrence || recurrence.frequency === 'none') return '';
  if (recurrence.count) return recurrence.count === 1 ? 'once' : `${recurrence.count} times`;
  if (recurrence.until) return `until ${formatDate(recurrence.until)}`;
  return '';
}

/**
 * The `recurrence` to send for a scheduling form's choices.
 *
 * @param {{repeats: string, everyWeeks?: number, start: string, ends: string, until?: string, count?: number}} choice
 *   repeats: "none" | "weekly" | "every_n_weeks" | "monthly"; ends: "until" | "count"
 * @returns {object} the recurrence, or {error} in words
 */
export function recurrenceFor({ repeats, everyWeeks, start, ends, until, count }) {
  if (repeats === 'none') return { frequency: 'none' };
  const recurrence = { frequency: repeats === 'monthly' ? 'monthly' : 'weekly', interval: 1 };
  if (repeats === 'every_n_weeks') {
    const weeks = Number(everyWeeks);
    if (!Number.isInteger(weeks) || weeks < 1 || weeks > 52) {
      return { error: 'Please enter how many weeks apart, from 1 to 52.' };
    }
    recurrence.interval = weeks;
  }
  if (repeats === 'monthly') {
    const place = weekdayPosition(start);
    if (!place) return { error: 'Please choose when it starts first.' };
    recurrence.weekday_position = place.position;
  }
  if (ends === 'until') {
    if (!until) return { error: 'Please choose the date of the last one.' };
    if (start && until < start.slice(0, 10)) return { error: 'The last date must not be before the first.' };
    recurrence.until = until;
  } else {
    const times = Number(count);
    if (!Number.isInteger(times) || times < 1 || times > 520) {
      return { error: 'Please enter how many times it happens, from 1 to 520.' };
    }
    recurrence.count = times;
  }
  return recurrence;
}
