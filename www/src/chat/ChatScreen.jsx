// The chat: stream-chat-react 14 with chatseal wired exactly as the package documents —
// `encryptComposer(client, seal)` once after connecting, the decrypting components inside
// `<WithComponents overrides={chatSealComponents}>`, `<ChatSealProvider seal>` around all.
// Around it: the conversation list (a drawer on phones), "Who do you want to chat with?",
// key-change banners, safety numbers and the "What the server sees" panel.
import "stream-chat-react/dist/css/index.css";
import "./chat.css";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { StreamChat } from "stream-chat";
import {
  Channel,
  ChannelHeader,
  ChannelList,
  Chat,
  MessageComposer,
  MessageList,
  NotificationConfigurationProvider,
  Thread,
  ChatViewContext,
  Window,
  WithComponents,
  useChannelListContext,
  useChatContext,
} from "stream-chat-react";
import { ChatSealProvider } from "chatseal/react";
import { chatSealComponents, encryptComposer, getEncryptedLatestMessagePreview } from "chatseal/stream";
import { describe } from "../errors.js";
import { Brand } from "../Login.jsx";
import { ConversationAvatar } from "./ConversationAvatar.jsx";
import { backupMade, openChannel } from "../storage.js";
import { resolveStreamBase } from "../streamBase.js";
import { useReport } from "../status.jsx";
import { ConversationTools, isSendError } from "./ConversationTools.jsx";
import { KeyChangeBanners, KeyChangesProvider } from "./keyChanges.jsx";
import { KeysDialog } from "./KeysDialog.jsx";
import { NewConversation } from "./NewConversation.jsx";
import { TypingIndicatorAfterMessages } from "./TypingIndicator.jsx";
import { localTimes } from "./time.js";
import { ServerSees } from "./ServerSees.jsx";

const PHONE = "(max-width: 767px)";

/** Connects a stream-chat client for `identity` and turns on chatseal's composer. */
function useChatClient({ identity, backend, seal }) {
  const report = useReport();
  const [client, setClient] = useState(null);
  const [failed, setFailed] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const retry = useCallback(() => setAttempt((n) => n + 1), []);

  useEffect(() => {
    let alive = true;
    let made = null;
    let stop = null;
    let offConnection = null;
    setFailed(false);
    (async () => {
      report({ text: "Connecting to the chat server…", tone: "busy" });
      const credentials = await backend.streamCredentials();
      const baseURL = resolveStreamBase(credentials.baseUrl);
      made = new StreamChat(credentials.apiKey, { ...(baseURL ? { baseURL } : {}), timeout: 15000 });
      // The token of this answer first; a fresh one from the backend whenever Stream asks again.
      let first = credentials.token;
      const tokenProvider = async () => {
        if (first) {
          const token = first;
          first = null;
          return token;
        }
        return (await backend.streamCredentials()).token;
      };
      await made.connectUser(credentials.user ?? { id: identity, name: identity }, tokenProvider);
      if (!alive) return;
      stop = encryptComposer(made, seal); // once, after connecting: every composer encrypts
      const subscription = made.on("connection.changed", (event) => {
        if (!alive) return;
        report(
          event.online
            ? { text: "Connected again.", tone: "ok" }
            : { text: "The connection to the chat server dropped. Reconnecting…", tone: "error" },
        );
      });
      offConnection = () => subscription.unsubscribe();
      setClient(made);
      report({
        text: backupMade.get(identity)
          ? `Connected as ${identity}. Messages are encrypted in this browser.`
          : `Connected as ${identity}. Your keys have no backup yet: see "Keys & backup".`,
        tone: "ok",
      });
    })().catch((error) => {
      if (!alive) return;
      setFailed(true);
      report({ text: `Could not connect to the chat server. ${describe(error)}`, tone: "error", retry });
    });
    return () => {
      alive = false;
      offConnection?.();
      stop?.();
      setClient(null);
      // After the chat's own components have run their cleanups (they still use channels).
      setTimeout(() => made?.disconnectUser().catch(() => {}), 0);
    };
  }, [identity, backend, seal, attempt, report, retry]);

  return { client, failed, retry };
}

// The channel list's `setChannels`, for putting a conversation just opened at its top.
const ListBridge = createContext(null);

function ListHeader() {
  const bridge = useContext(ListBridge);
  const { setChannels } = useChannelListContext("ListHeader");
  useEffect(() => {
    bridge.current = setChannels;
  }, [bridge, setChannels]);
  return (
    <div className="str-chat__channel-list__header list-header">
      <h2>Conversations</h2>
    </div>
  );
}

/**
 * stream-chat-react's empty states (a `ChannelList` prop, and a component override for the
 * message list), with roles that fit where they are shown: its own puts a
 * `listitem` outside any list and leaves the channel list's `listbox` without an option
 * (axe-core: aria-required-parent / aria-required-children, both critical).
 */
function EmptyStateIndicator({ listType }) {
  if (listType === "thread") return null;
  if (listType === "channel") {
    return (
      <div className="str-chat__channel-list-empty" role="option" aria-disabled="true" aria-selected="false">
        <p>No conversations yet</p>
      </div>
    );
  }
  return (
    <div className="str-chat__empty-channel">
      <p className="str-chat__empty-channel-text">Send a message to start the conversation</p>
    </div>
  );
}

// chatseal's errors about one conversation are shown in it (ConversationTools), not as toasts
// that would follow the user into the next one.
const notToasted = ({ notification }) => !isSendError(notification);

const overrides = {
  ...chatSealComponents,
  Avatar: ConversationAvatar,
  ChannelListHeader: ListHeader,
  EmptyStateIndicator,
  TypingIndicator: TypingIndicatorAfterMessages,
};

// This app lays out channels itself, without <ChatView>; stream-chat-react 14's thread
// header still asks which view is active (and warns on every render without an answer).
const channelsView = { activeChatView: "channels", setActiveChatView: () => {} };

export default function ChatScreen({ identity, backend, seal, onSignOut }) {
  const { client, failed, retry } = useChatClient({ identity, backend, seal });
  const i18n = useMemo(localTimes, []);
  if (!client) {
    return (
      <main className="screen screen--narrow">
        <Brand />
        <div className="card">
          <p className="muted">
            {failed
              ? "The chat server could not be reached. The status line below says why."
              : "Connecting to the chat server…"}
          </p>
          <div className="actions">
            {failed && (
              <button type="button" className="button button--primary" onClick={retry}>
                Try again
              </button>
            )}
            <button type="button" className="button" data-testid="sign-out" onClick={onSignOut}>
              Sign out
            </button>
          </div>
        </div>
      </main>
    );
  }
  return (
    <ChatSealProvider seal={seal}>
      <Chat client={client} i18nInstance={i18n} theme="str-chat__theme-light">
        <ChatViewContext.Provider value={channelsView}>
          <WithComponents overrides={overrides}>
            <NotificationConfigurationProvider displayFilter={notToasted}>
              <KeyChangesProvider seal={seal}>
                <ChatLayout identity={identity} backend={backend} seal={seal} client={client} onSignOut={onSignOut} />
              </KeyChangesProvider>
            </NotificationConfigurationProvider>
          </WithComponents>
        </ChatViewContext.Provider>
      </Chat>
    </ChatSealProvider>
  );
}

function usePhone() {
  const [phone, setPhone] = useState(() => window.matchMedia(PHONE).matches);
  useEffect(() => {
    const query = window.matchMedia(PHONE);
    const change = () => setPhone(query.matches);
    query.addEventListener("change", change);
    return () => query.removeEventListener("change", change);
  }, []);
  return phone;
}

function ChatLayout({ identity, backend, seal, client, onSignOut }) {
  const report = useReport();
  const { channel, setActiveChannel } = useChatContext("ChatLayout");
  const phone = usePhone();
  const [listOpen, setListOpen] = useState(true); // phones: the list shows until a conversation opens
  const [serverOpen, setServerOpen] = useState(false);
  const [keysOpen, setKeysOpen] = useState(false);
  const [safetyFor, setSafetyFor] = useState(null);
  const bridge = useRef(null);
  const relayMissing = useRef(new Set());
  const listToggle = useRef(null);

  const filters = useMemo(() => ({ type: "messaging", members: { $in: [identity] } }), [identity]);
  const sort = useMemo(() => ({ last_message_at: -1 }), []);
  const options = useMemo(() => ({ state: true, watch: true, presence: true, limit: 30 }), []);

  // A conversation chosen (from the list or a form) closes the phone drawer.
  const cid = channel?.cid;
  useEffect(() => {
    if (cid) setListOpen(false);
  }, [cid]);

  // The conversation open at a reload is the one reopened (else the list opens its newest).
  const [reopen] = useState(() => openChannel.get(identity) ?? undefined);
  const channelId = channel?.id;
  useEffect(() => {
    if (channelId) openChannel.set(identity, channelId);
  }, [identity, channelId]);

  const nameOf = useCallback((id) => client.state.users[id]?.name || id, [client]);

  const open = useCallback(
    (opened) => {
      bridge.current?.((list) => [opened, ...list.filter((c) => c.cid !== opened.cid)]);
      setActiveChannel(opened);
      setListOpen(false);
    },
    [setActiveChannel],
  );

  const compare = useCallback(
    async (peer) => {
      try {
        const direct = client.channel("messaging", { members: [identity, peer] });
        await direct.watch();
        open(direct);
        setSafetyFor(peer);
      } catch (error) {
        report({ text: `Could not open the conversation with ${peer}. ${describe(error)}`, tone: "error" });
      }
    },
    [client, identity, open, report],
  );

  const closeList = useCallback(() => {
    setListOpen(false);
    listToggle.current?.focus();
  }, []);
  useEffect(() => {
    if (!phone || !listOpen || !cid) return undefined;
    const onKey = (event) => event.key === "Escape" && closeList();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [phone, listOpen, cid, closeList]);

  const closeServer = useCallback(() => setServerOpen(false), []);
  const shownSafety = useCallback(() => setSafetyFor(null), []);
  const drawer = phone && listOpen;

  return (
    <ListBridge.Provider value={bridge}>
      <div className={`chat${drawer ? " chat--list-open" : ""}${serverOpen && channel ? " chat--server-open" : ""}`}>
        <header className="topbar">
          <button
            ref={listToggle}
            type="button"
            className="button button--small topbar__list-toggle"
            aria-expanded={drawer}
            aria-controls="sidebar"
            data-testid="list-toggle"
            onClick={() => {
              const opening = !drawer;
              setListOpen(opening);
              // Into the drawer, at its first field (Escape or the scrim closes it).
              if (opening) requestAnimationFrame(() => document.querySelector("#sidebar input")?.focus());
            }}
          >
            <MenuIcon /> <span className="hide-phone">Conversations</span>
            <span className="show-phone">Chats</span>
          </button>
          <Brand />
          <div className="topbar__end">
            <span className="topbar__who">
              <span className="visually-hidden">Signed in as </span>
              <strong data-testid="identity">{identity}</strong>
            </span>
            <button type="button" className="button button--small" onClick={() => setKeysOpen(true)} data-testid="keys-open">
              <span>
                Keys<span className="hide-phone"> &amp; backup</span>
              </span>
            </button>
            <button type="button" className="button button--small" onClick={onSignOut} data-testid="sign-out">
              Sign out
            </button>
          </div>
        </header>

        <div className="chat__body">
          <aside id="sidebar" className="sidebar" aria-label="Conversations" inert={phone && !listOpen ? true : undefined}>
            <NewConversation client={client} me={identity} onOpen={open} />
            <ChannelList
              customActiveChannel={reopen}
              filters={filters}
              sort={sort}
              options={options}
              getLatestMessagePreview={getEncryptedLatestMessagePreview}
              EmptyStateIndicator={EmptyStateIndicator}
            />
          </aside>
          {drawer && cid && <button type="button" className="scrim" aria-label="Close the conversation list" onClick={closeList} />}

          <main className="conversation" aria-label="Conversation" inert={drawer ? true : undefined}>
            <KeyChangeBanners seal={seal} nameOf={nameOf} onCompare={compare} />
            <Channel EmptyPlaceholder={<NoConversation onShowList={() => setListOpen(true)} phone={phone} />}>
              <Window>
                <ChannelHeader Avatar={ConversationAvatar} />
                <ConversationTools
                  seal={seal}
                  me={identity}
                  nameOf={nameOf}
                  serverOpen={serverOpen}
                  onToggleServer={() => setServerOpen((o) => !o)}
                  safetyFor={safetyFor}
                  onSafetyShown={shownSafety}
                />
                <MessageList />
                <MessageComposer />
              </Window>
              <Thread />
            </Channel>
          </main>

          {serverOpen && channel && (
            <ServerSees key={channel.cid} channel={channel} backend={backend} relayMissing={relayMissing} onClose={closeServer} />
          )}
        </div>

        <KeysDialog
          open={keysOpen}
          onClose={() => setKeysOpen(false)}
          seal={seal}
          identity={identity}
          onForgotten={onSignOut}
        />
      </div>
    </ListBridge.Provider>
  );
}

function NoConversation({ onShowList, phone }) {
  return (
    <div className="empty">
      <h2>No conversation open</h2>
      <p className="muted">
        {phone
          ? "Open the conversation list to pick one, or start a new one with someone's user name."
          : "Pick one on the left, or type someone's user name under “Who do you want to chat with?”."}
      </p>
      {phone && (
        <button type="button" className="button button--primary" onClick={onShowList}>
          Show conversations
        </button>
      )}
    </div>
  );
}

function MenuIcon() {
  return (
    <svg className="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" focusable="false">
      <path fill="currentColor" d="M2 3.5h12v1.5H2zM2 7.25h12v1.5H2zM2 11h12v1.5H2z" />
    </svg>
  );
}
