/**
 * This library's `name@version`, as provenance records name it (`library`), for code that cannot read package.json
 * (a page). Node reads package.json (lib/node/package-version.ts); spec/pipelines/library-version.spec.ts fails when
 * the two disagree, so a version bump updates both.
 */
export const LIBRARY_VERSION = 'tfjs-diffusers@0.1.0';
