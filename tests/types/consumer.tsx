// A consumer of chatseal, compiled with `tsc --strict` against the installed package: the
// README's integrations (stream-chat-react, a plain page, matrix-js-sdk) and what the
// declarations' comments promise, written as a TypeScript user writes them. Every
// `@ts-expect-error` is misuse the declarations must reject.
import { StreamChat, type Channel as StreamChannel, type LocalMessage } from "stream-chat";
import {
  Attachment,
  Channel,
  Chat,
  MessageComposer,
  MessageList,
  MessageUI,
  Thread,
  Window,
  WithComponents,
  type MessageUIComponentProps,
  type TranslationContextValue,
} from "stream-chat-react";
import { createClient, type MatrixEvent, type Room } from "matrix-js-sdk";
import { ChatSeal, ChatSealError, Identity, initAsync, isEncrypted, type Decrypted, type ErrorCode } from "chatseal";
import {
  ChatSealProvider,
  QrCode,
  describeError,
  useChatSeal,
  useDecrypted,
  useDecryptedFile,
  useDeviceLink,
} from "chatseal/react";
import {
  EncryptedAttachment,
  EncryptedChannelListItemUI,
  EncryptedEditedMessagePreview,
  EncryptedMessageUI,
  EncryptedQuotedMessagePreview,
  FILE_ATTACHMENT_TYPE,
  chatSealComponents,
  createEncryptedAttachment,
  createEncryptedChannelListItemUI,
  createEncryptedMessageUI,
  encryptComposer,
  getEncryptedLatestMessagePreview,
  isEncryptedAttachment,
  useDecryptedMessage,
} from "chatseal/stream";
import { MARKER, decryptEvent, decryptTimeline, encryptMessages, onDecryptedTimeline } from "chatseal/matrix";
import { define } from "chatseal/element";
import * as standalone from "chatseal/standalone";
import { LABELS, define as defineChat, type ChatSealMessageDetail, type WidgetTokens } from "chatseal/widget";

declare const apiKey: string;
declare const userId: string;
declare const streamToken: string;
declare const directoryUrl: string;
declare const getToken: () => Promise<string>;

// README, "Quick start: stream-chat-react", as written (types added where JSX needs them).
const client = StreamChat.getInstance(apiKey);
await client.connectUser({ id: userId }, streamToken);
const seal = await ChatSeal.open({ identity: userId, directoryUrl, getToken });
if (!seal.hasLocalKey()) await seal.register();
const stop: () => void = encryptComposer(client, seal);

export const EncryptedChannel = ({ channel }: { channel: StreamChannel }) => (
  <ChatSealProvider seal={seal}>
    <Chat client={client}>
      <WithComponents overrides={chatSealComponents}>
        <Channel channel={channel}>
          <Window>
            <MessageList />
            <MessageComposer />
          </Window>
          <Thread />
        </Channel>
      </WithComponents>
    </Chat>
  </ChatSealProvider>
);

// README, "Keys on a new device, without a password".
declare const qrText: string;
await seal.backup("a password");
const { credentialId } = await seal.backup.addPasskey({ rpName: "Clinic" });
const passkeys: { credentialId: string }[] = await seal.backup.passkeys();
await seal.backup.removePasskey(credentialId);
const restoredCard: string = await seal.backup.restoreWithPasskey();
const link = seal.link.start();
const linkCode: string = await link.waitForOffer({ signal: new AbortController().signal });
const shownCode: string | undefined = link.code;
const acceptedCode: string = await seal.link.accept(qrText);
const linkedCard: string = await link.confirm();
link.cancel();
console.log(passkeys, restoredCard, linkCode, shownCode, acceptedCode, linkedCard, link.qr, link.expiresAt);
// @ts-expect-error: the QR text is a string
await seal.link.accept(new Uint8Array(48));
// @ts-expect-error: the namespaces are read-only
seal.link = { start: link.cancel, accept: seal.link.accept };
const newCodes: ErrorCode[] = ["NoBackup", "PasskeyUnsupported", "PasskeyCancelled", "LinkExpired", "LinkUsed", "LinkRejected"];
console.log(newCodes);

export function LinkThisDevice() {
  const state = useDeviceLink();
  if (state.status === "waiting" && state.qrPath) {
    return <QrCode path={state.qrPath} size={state.qrSize} label="Scan from your other device" width={200} />;
  }
  if (state.status === "confirm") return <button onClick={() => void state.confirm()}>{state.code}</button>;
  if (state.status === "error") return <p>{describeError(state.error)}</p>;
  return <button onClick={state.start}>Link</button>;
}

// chatseal/stream's options and overrides, one by one.
encryptComposer(client, seal, {
  recipients: async (channel) => Object.keys(channel.state.members),
  plaintextAttachments: false,
});
// @ts-expect-error: recipients returns identities, not a string
encryptComposer(client, seal, { recipients: () => "alice" });
// @ts-expect-error: the seal comes second
encryptComposer(seal, client);
stop();

const overrides = {
  Attachment: EncryptedAttachment,
  MessageUI: EncryptedMessageUI,
  QuotedMessagePreview: EncryptedQuotedMessagePreview,
  EditedMessagePreview: EncryptedEditedMessagePreview,
  ChannelListItemUI: EncryptedChannelListItemUI,
};
export const Overrides = () => <WithComponents overrides={overrides}>{null}</WithComponents>;

function Bubble(props: MessageUIComponentProps) {
  return <MessageUI {...props} />;
}
const Wrapped = createEncryptedMessageUI({ MessageUI: Bubble });
const WrappedRow = createEncryptedChannelListItemUI();
const WrappedAttachment = createEncryptedAttachment({ Attachment });
export const More = () => (
  <WithComponents overrides={{ MessageUI: Wrapped, ChannelListItemUI: WrappedRow, Attachment: WrappedAttachment }}>
    {null}
  </WithComponents>
);

export function Preview({ message }: { message: LocalMessage }) {
  const { message: shown, state } = useDecryptedMessage(message, { context: message.cid });
  const text: string | undefined = shown.text;
  const label: string | null = state.label;
  return <span data-status={state.status}>{text ?? label}</span>;
}

export function latest(channel: StreamChannel, t: TranslationContextValue["t"]) {
  return getEncryptedLatestMessagePreview(channel, t);
}

const attachment: unknown = { type: FILE_ATTACHMENT_TYPE, asset_url: "https://x", chatseal_file: "csp2.x" };
if (isEncryptedAttachment(attachment)) {
  const url: string = attachment.asset_url;
  const descriptor: string = attachment.chatseal_file;
  console.log(url, descriptor, attachment.type === "chatseal");
}

// chatseal/react.
export function Message({ text, from }: { text: string; from: string }) {
  const current: ChatSeal | null = useChatSeal();
  const state = useDecrypted(text, { from, context: "room-1" });
  const file = useDecryptedFile("csp2.descriptor", { from, auto: (info) => info.size < 1_000_000 });
  if (file.status === "idle") file.start();
  if (state.status === "error") return <em>{state.label ?? describeError(state.error)}</em>;
  return <p data-seal={current?.identity}>{state.text}</p>;
}
// @ts-expect-error: useDecrypted takes the options object, not a sender string
useDecrypted("csp2.x", "bob");

// README, "a page without a bundler", and chatseal/element.
const Element: CustomElementConstructor = define(seal);
define(seal, "secret-text");
const sent: string = await seal.encrypt("See you at 11", { to: ["alice@clinic-a"], context: "room-1" });
const same: typeof ChatSeal = standalone.ChatSeal;
console.log(Element, sent, same);

// The core API the .d.ts comments describe.
await initAsync();
const message: Decrypted = await seal.decrypt(sent, { from: userId, context: "room-1" });
const plain: string | null = message.text;
const upload = await seal.encryptFile(new Blob(["x"]), { to: ["alice@clinic-a"], context: "room-1" });
const decryptedFile: File = await seal.decryptFile(upload.descriptor, upload.blob);
const low = Identity.generate("a@x");
try {
  low.decrypt(low.encrypt("x", [low.card()]), [low.card()]);
} catch (error) {
  if (error instanceof ChatSealError) {
    const code: ErrorCode = error.code;
    console.log(code);
  }
}
console.log(plain, decryptedFile.name, isEncrypted(sent));

// README, "Other chat SDKs": chatseal/matrix.
declare const baseUrl: string;
declare const accessToken: string;
declare const deviceId: string;
declare const roomId: string;
declare function show(roomId: string, sender: string | null, text: string | null): void;
const matrix = createClient({ baseUrl, userId, accessToken, deviceId });
const stopMatrix: () => void = encryptMessages(matrix, seal, { fallback: null, plaintextMedia: false });
const stopTimeline = onDecryptedTimeline(matrix, seal, ({ room, sender, status, text, label }) => {
  show(room.roomId, sender, status === "error" ? `🔒 ${label}` : text);
});
await matrix.startClient();
await matrix.sendTextMessage(roomId, "Lab results are in: see you at 11");

export async function read(event: MatrixEvent, room: Room, signal: AbortSignal) {
  const one = await decryptEvent(seal, event, { signal });
  if (one && one.status === "ok") console.log(one.text, one.keyChanged, one.replaces);
  const all = await decryptTimeline(seal, room, { includeEdits: true });
  return all.map((m) => [m.event.getId(), m.text, MARKER] as const);
}
// @ts-expect-error: encryptMessages wants a MatrixClient
encryptMessages(client, seal);
stopMatrix();
stopTimeline();

// README, "Embed without React": <chatseal-chat> with a getToken callback and its events.
const ChatElement = defineChat({ labels: { es: { send: "Mandar" } } });
const widget = new ChatElement();
widget.getToken = async (): Promise<WidgetTokens> => (await fetch("/api/chat-tokens", { method: "POST" })).json();
widget.labels = { title: LABELS.es.title };
widget.addEventListener("chatseal-message", (event) => {
  const detail = (event as CustomEvent<ChatSealMessageDetail>).detail;
  console.log(detail.id, detail.status, detail.keyChanged, detail.text ?? "(no plaintext)");
});
const found: HTMLElementTagNameMap["chatseal-chat"] | null = document.querySelector("chatseal-chat");
console.log(found?.state, widget.seal?.identity, widget.channel?.cid);
