// One way to write a time, the browser's own (Intl.DateTimeFormat in its locale), for the
// conversation list and the message bubbles alike: stream-chat-react writes the list's in
// dayjs's "LT" ("2:11 PM") and the bubbles' as "HH:mm" ("14:11").
import { Streami18n } from "stream-chat-react";

const clock = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const date = new Intl.DateTimeFormat(undefined, { dateStyle: "short" });

const parse = (value) => {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
};

/** The time of day of `value`, as the browser's locale writes it. */
export function timeOfDay(value) {
  const d = parse(value);
  return d ? clock.format(d) : "";
}

/** The list's form: the time of day today, the date before today. */
export function listTime(value) {
  const d = parse(value);
  if (!d) return "";
  return d.toDateString() === new Date().toDateString() ? clock.format(d) : date.format(d);
}

/** stream-chat-react's translations with both timestamps written by the functions above. */
export function localTimes() {
  return new Streami18n({
    language: "en",
    translationsForLanguage: {
      "timestamp/ChannelPreviewTimestamp": "{{ timestamp | listTime }}",
      "timestamp/MessageTimestamp": "{{ timestamp | timeOfDay }}",
    },
    formatters: {
      listTime: () => (value) => listTime(value),
      timeOfDay: () => (value) => timeOfDay(value),
    },
  });
}
