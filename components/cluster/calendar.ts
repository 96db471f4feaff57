/**
 * systemd calendar events (`OnCalendar=`, systemd.time(7), systemd 252 as in Debian 12): the subset
 * this library accepts for its timers, checked before anything is rendered. Accepted:
 * - the shorthands `hourly`, `daily`, `weekly`, `monthly`, `quarterly`, `semiannually`, `yearly`,
 *   `annually` (`minutely` is more often than any timer here should run);
 * - `[WEEKDAYS] [YEAR-MONTH-DAY] HOUR:MINUTE[:SECOND]`, each field `*`, a number, `A..B`, `N/STEP`
 *   or a comma list of those; weekdays `Mon`…`Sun` (or full names), lists and `..` ranges.
 * Anything else (time zones, `~` last days, fractional seconds) is refused with what is accepted:
 * a typo must not become a timer that never fires. test/cluster/calendar.test.ts holds a table of
 * specs against `systemd-analyze calendar` (the real parser): all accepted ones parse there too.
 */

export const CALENDAR_SHORTHANDS: Readonly<Record<string, number>> = {
  hourly: 60,
  daily: 1440,
  weekly: 10080,
  monthly: 40320,
  quarterly: 120960,
  semiannually: 241920,
  yearly: 483840,
  annually: 483840,
};

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/** The values one field takes in its range, or undefined when the field is not valid. */
function fieldValues(text: string, min: number, max: number): number[] | undefined {
  const out = new Set<number>();
  for (const part of text.split(",")) {
    let m: RegExpExecArray | null;
    if (part === "*") {
      for (let v = min; v <= max; v++) out.add(v);
    } else if ((m = /^(\*|\d+)\/(\d+)$/.exec(part))) {
      const start = m[1] === "*" ? min : Number(m[1]);
      const step = Number(m[2]);
      if (step < 1 || start < min || start > max) return undefined;
      for (let v = start; v <= max; v += step) out.add(v);
    } else if ((m = /^(\d+)\.\.(\d+)$/.exec(part))) {
      const a = Number(m[1]);
      const b = Number(m[2]);
      if (a < min || b > max || a > b) return undefined;
      for (let v = a; v <= b; v++) out.add(v);
    } else if (/^\d+$/.test(part)) {
      const v = Number(part);
      if (v < min || v > max) return undefined;
      out.add(v);
    } else return undefined;
  }
  return [...out].sort((x, y) => x - y);
}

function weekdaysValid(text: string): boolean {
  return text.split(",").every((part) => {
    const ends = part.split("..");
    return ends.length <= 2 && ends.every((d) => WEEKDAYS.includes(d.toLowerCase()));
  });
}

/** The shortest gap, in minutes, between two firings within a day (undefined when it fires once a day or less). */
function shortestGapMinutes(hours: number[], minutes: number[], seconds: number[]): number | undefined {
  if (seconds.length > 1) return (seconds[1] - seconds[0]) / 60;
  const times: number[] = [];
  for (const h of hours) for (const m of minutes) times.push(h * 60 + m);
  if (times.length < 2) return undefined;
  let gap = Infinity;
  for (let i = 1; i < times.length; i++) gap = Math.min(gap, times[i] - times[i - 1]);
  return Math.min(gap, times[0] + 1440 - times[times.length - 1]);
}

/**
 * Why `spec` is not a calendar event this library accepts, or undefined. `minIntervalMinutes`: the
 * least time between two firings (a snapshot every minute would load etcd for nothing).
 */
export function calendarSpecProblem(spec: string, opts: { minIntervalMinutes?: number } = {}): string | undefined {
  const min = opts.minIntervalMinutes ?? 0;
  const example = `"daily", "*-*-* 00/6:00:00" (every 6 hours) or "Sun 03:30"`;
  const s = spec.trim();
  if (s !== spec || s === "") return `"${spec}" is not a systemd calendar event like ${example}`;
  if (s in CALENDAR_SHORTHANDS) return undefined;
  if (s === "minutely") return `"minutely" fires every minute; at least ${min} minutes apart, e.g. ${example}`;
  const words = s.split(" ");
  if (words.length === 1 && /^[A-Za-z]+$/.test(s)) return `"${spec}" is not a systemd calendar shorthand (${Object.keys(CALENDAR_SHORTHANDS).join(", ")}) nor an event like ${example}`;
  if (words.length > 1 && /[A-Za-z]/.test(words[words.length - 1])) return `"${spec}": time zones ("${words[words.length - 1]}") are not accepted: the guests' clock is UTC; write the time in UTC`;
  if (words.length > 3) return `"${spec}" is not a systemd calendar event like ${example} (time zones are not accepted)`;
  let i = 0;
  if (/^[A-Za-z]/.test(words[0])) {
    if (!weekdaysValid(words[0])) return `"${spec}": "${words[0]}" is not a weekday list like "Mon..Fri" or "Sat,Sun"`;
    i++;
  }
  let date: string | undefined;
  if (words.length - i === 2) date = words[i++];
  const time = words[i];
  if (time === undefined || i !== words.length - 1) return `"${spec}" has no time of day (HH:MM): write it like ${example}`;
  if (date !== undefined) {
    const d = date.split("-");
    if (d.length !== 3) return `"${spec}": "${date}" is not a date like "*-*-*" or "2026-*-01"`;
    const [y, mo, da] = d;
    if (!(y === "*" || /^\d{4}$/.test(y))) return `"${spec}": year "${y}" is not "*" or four digits`;
    if (!fieldValues(mo, 1, 12)) return `"${spec}": month "${mo}" is not within 1..12`;
    if (!fieldValues(da, 1, 31)) return `"${spec}": day "${da}" is not within 1..31`;
  }
  const t = time.split(":");
  if (t.length < 2 || t.length > 3) return `"${spec}": "${time}" is not a time like "03:30" or "00/6:00:00"`;
  const hours = fieldValues(t[0], 0, 23);
  const minutes = fieldValues(t[1], 0, 59);
  const seconds = t.length === 3 ? fieldValues(t[2], 0, 59) : [0];
  if (!hours) return `"${spec}": hour "${t[0]}" is not within 0..23`;
  if (!minutes) return `"${spec}": minute "${t[1]}" is not within 0..59`;
  if (!seconds) return `"${spec}": second "${t[2]}" is not within 0..59`;
  const gap = shortestGapMinutes(hours, minutes, seconds);
  if (min > 0 && gap !== undefined && gap < min) return `"${spec}" fires every ${gap < 1 ? `${Math.round(gap * 60)} seconds` : `${gap} minutes`}; at least ${min} minutes apart, e.g. ${example}`;
  return undefined;
}
