import { ChannelAvatar } from "stream-chat-react";

/**
 * A conversation's avatar, for the channel list and the header. stream-chat-react draws a
 * group as two to four member avatars packed into one circle, overlapping each other and
 * cutting off their initials at the list's and the header's sizes; here a group is one
 * circle with its own initials (from its name), and a person keeps their avatar.
 * Everything else (the size, aria attributes) goes through as given.
 */
export function ConversationAvatar({ displayMembers, imageUrl, userName, ...rest }) {
  const group = !imageUrl && (displayMembers?.length ?? 0) > 1;
  return <ChannelAvatar displayMembers={group ? undefined : displayMembers} imageUrl={imageUrl} userName={userName} {...rest} />;
}
