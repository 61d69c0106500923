// chatseal for Node (ES modules): the same objects as the CommonJS entry.
import api from "./index.cjs";

export const { ChatSeal, Identity, Card, ChatSealError, isEncrypted, initAsync, isReady } = api;
