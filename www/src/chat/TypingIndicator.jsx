// stream-chat-react's typing indicator, minus the people whose message has arrived since
// they started typing. Its own indicator keeps the dots for two seconds after a
// `typing.stop` (against flicker), so they outlived the message they announced; here a new
// message starts the indicator afresh, and a typist counts only if they typed after their
// latest message.
import { useMemo } from "react";
import { TypingIndicator, TypingProvider, useChannelStateContext, useTypingContext } from "stream-chat-react";

const time = (value) => (value ? new Date(value).getTime() : 0);

export function TypingIndicatorAfterMessages(props) {
  const { typing = {} } = useTypingContext("TypingIndicatorAfterMessages");
  const { messages = [] } = useChannelStateContext("TypingIndicatorAfterMessages");
  const latest = messages.at(-1);
  const value = useMemo(() => {
    const lastSent = {};
    for (const m of messages) {
      const id = m.user?.id;
      if (id) lastSent[id] = Math.max(lastSent[id] ?? 0, time(m.created_at));
    }
    const still = Object.fromEntries(
      Object.entries(typing).filter(([id, event]) => time(event.created_at ?? event.received_at) > (lastSent[id] ?? 0)),
    );
    return { typing: still };
  }, [typing, messages]);
  return (
    <TypingProvider value={value}>
      <TypingIndicator key={latest?.id ?? "none"} {...props} />
    </TypingProvider>
  );
}
