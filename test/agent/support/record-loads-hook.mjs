// The loader-thread half of record-loads.mjs: posts each loaded module's URL to the main thread.
let port;

export function initialize(data) {
  port = data.port;
}

export async function load(url, context, next) {
  port.postMessage(url);
  return next(url, context);
}
