import type { ReactElement, ReactNode } from "react";
import type { ChatSeal, ChatSealError, Decrypted, FileInfo } from "./index.js";

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

export interface DecryptedFileState {
  /** "pending" (descriptor or file being decrypted), "idle" (waiting for `start()`), "ok", "error". */
  status: "pending" | "idle" | "ok" | "error";
  /** What the file is, once the descriptor is decrypted. */
  info: FileInfo | null;
  /** The decrypted file when "ok". */
  file: File | null;
  /** An object URL of `file` when "ok"; revoked on unmount. */
  url: string | null;
  /** 0–1 while downloading and decrypting, when known. */
  progress: number | null;
  error: ChatSealError | Error | null;
  label: string | null;
  keyChanged: boolean;
  /** Fetches and decrypts a file that `auto` did not. */
  start(): void;
}

export declare function useDecryptedFile(
  descriptor: string | null | undefined,
  options?: {
    /** Where the encrypted upload is (default: the descriptor's own url). */
    url?: string;
    from?: string;
    context?: string;
    /** Whether to fetch at once (default: images up to 25 MB). */
    auto?: (info: FileInfo) => boolean;
  },
): DecryptedFileState;
