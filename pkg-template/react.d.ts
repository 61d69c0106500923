import type { ReactElement, ReactNode } from "react";
import type { ChatSeal, ChatSealError, Decrypted } from "./index.js";

export declare function ChatSealProvider(props: { seal: ChatSeal | null; children?: ReactNode }): ReactElement;
export declare function useChatSeal(): ChatSeal | null;

export interface DecryptedState {
  status: "pending" | "ok" | "error";
  /** The plaintext when "ok" (the input itself when it was not encrypted). */
  text: string | null;
  error: ChatSealError | Error | null;
  /** The full decrypt result when the input was encrypted. */
  result: Decrypted | null;
  /** What to show: "can't verify sender", "not for this device", "key changed", … (null when nothing to say). */
  label: string | null;
  keyChanged: boolean;
}

export declare function useDecrypted(
  text: string | null | undefined,
  options?: { from?: string; context?: string },
): DecryptedState;

export declare function describeError(error: unknown): string;
