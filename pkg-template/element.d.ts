import type { ChatSeal } from "./index.js";

/** Registers `<chatseal-text>` (or `name`) decrypting with `seal`; returns the element class. */
export declare function define(seal: ChatSeal, name?: string): CustomElementConstructor;
