// Media needs the bearer token, so <img src="/api/v1/media/..."> cannot work: the bytes are
// fetched with the Authorization header into blob: URLs, cached per media id.

import { blob } from "./api.js";

const cache = new Map(); // media id -> Promise<string object URL>

export function mediaUrl(media) {
  if (!cache.has(media.id)) {
    const promise = blob(media.url || `/api/v1/media/${media.id}`).then((b) => URL.createObjectURL(b));
    promise.catch(() => cache.delete(media.id));
    cache.set(media.id, promise);
  }
  return cache.get(media.id);
}

/** Forgets one id (to retry a download that failed or was not ready). */
export function forgetMedia(id) {
  const entry = cache.get(id);
  cache.delete(id);
  if (entry) entry.then((url) => URL.revokeObjectURL(url)).catch(() => {});
}

/** Frees every blob URL (when leaving a conversation). */
export function releaseMedia() {
  for (const entry of cache.values()) entry.then((url) => URL.revokeObjectURL(url)).catch(() => {});
  cache.clear();
}

/** Saves what `url` holds to the user's disk as `name`. */
export function downloadUrl(url, name) {
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/** Saves `blob` to the user's disk as `name` (e.g. a CSV made or fetched). */
export function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  downloadUrl(url, name);
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** Downloads a file to the user's disk under its name. */
export async function saveMedia(media, fallbackName) {
  downloadUrl(await mediaUrl(media), media.filename || fallbackName || "file");
}
