// jsdom has no layout: stream-chat-react's MessageList scrolls and observes sizes.
const noop = () => {};
for (const name of ["scrollBy", "scrollTo", "scrollIntoView"]) {
  if (!Element.prototype[name]) Element.prototype[name] = noop;
}
class NoObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
globalThis.ResizeObserver ??= NoObserver;
globalThis.IntersectionObserver ??= NoObserver;
