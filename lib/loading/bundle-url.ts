/**
 * The URL of the browser bundle, defined by a banner line that scripts/build-browser.js puts at the top of
 * dist/browser/tfjs-diffusers.esm.js (`import.meta.url`); undefined when this file is used unbundled.
 */
declare const __TFJS_DIFFUSERS_BUNDLE_URL__: string | undefined;

/**
 * `relative` resolved against the browser bundle's URL, or undefined when the code runs unbundled (tsc's output,
 * another bundler). What the bundle finds beside itself: the wasm backend's `.wasm` files, the embedded model.
 *
 * ```js
 * bundleRelativeUrl('./');  // 'https://example.com/node_modules/tfjs-diffusers/dist/browser/'
 * ```
 */
export function bundleRelativeUrl(relative: string): string | undefined {
  return typeof __TFJS_DIFFUSERS_BUNDLE_URL__ === 'string' ? new URL(relative, __TFJS_DIFFUSERS_BUNDLE_URL__).href : undefined;
}
