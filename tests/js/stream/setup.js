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

// jsdom's Blob has no arrayBuffer(); browsers have it, and
// chatseal's attachments use them (reading files, showing decrypted ones).
if (typeof Blob !== "undefined" && !Blob.prototype.arrayBuffer) {
  Blob.prototype.arrayBuffer = function arrayBuffer() {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsArrayBuffer(this);
    });
  };
}
// Object URLs are tracked so that tests can see them created and revoked (Node's own
// accept only Node Blobs).
{
  const objects = new Map();
  let next = 0;
  URL.createObjectURL = (blob) => {
    next += 1;
    const url = `blob:jsdom/${next}`;
    objects.set(url, blob);
    return url;
  };
  URL.revokeObjectURL = (url) => {
    objects.delete(url);
  };
  globalThis.__objectUrls = objects;
}
