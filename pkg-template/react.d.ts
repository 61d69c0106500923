import type { ReactElement, ReactNode, SVGProps } from "react";
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

export interface DeviceLinkState {
  /** "idle", "waiting" (show the QR code), "confirm" (compare `code`), "done", "error". */
  status: "idle" | "waiting" | "confirm" | "done" | "error";
  /** The QR payload, to show or to type on the other device. */
  qr: string | null;
  /** `qr` as an SVG path in a `qrSize` box (for {@link QrCode}). */
  qrPath: string | null;
  qrSize: number;
  /** The six-digit code both screens show, from "confirm" on. */
  code: string | null;
  /** The card text once "done". */
  card: string | null;
  error: ChatSealError | Error | null;
  /** Makes a new link (dropping any other). */
  start(): void;
  /** The user saw the same code on both screens: store the keys. */
  confirm(): Promise<void>;
  /** Drops the link; nothing is stored. */
  cancel(): void;
}

/**
 * Linking this (new) device to one that has the keys, by QR code (PROTOCOL §13), with
 * `seal` (before a provider exists: a sign-in screen) or the nearest provider's.
 */
export declare function useDeviceLink(seal?: ChatSeal | null): DeviceLinkState;

/** A QR code (`path` and `size` from a device link) as an SVG. */
export declare function QrCode(
  props: { path: string; size: number; label: string } & Omit<SVGProps<SVGSVGElement>, "path">,
): ReactElement;
