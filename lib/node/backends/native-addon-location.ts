import * as fs from 'fs';
import * as path from 'path';

/** File name of the native addon: node-gyp's build (binding.gyp's target_name) and each prebuild. */
export const ADDON_FILE = 'tfjs_diffusers_native.node';

/** Set to a path to load the addon from there; set to '0' or 'off' to never load it. */
export const ADDON_ENV = 'TFJS_DIFFUSERS_NATIVE';

/** The package's folder of prebuilt addons, in the prebuildify / node-gyp-build layout: `prebuilds/<platform>-<arch>/`. */
const PREBUILDS_DIR = 'prebuilds';

/** The platforms the package carries a prebuilt addon for (scripts/prebuild-native.js builds them). */
export const PREBUILT_PLATFORMS = ['linux-x64', 'linux-arm64'] as const;

/**
 * The prebuildify tag of a platform: `linux-x64`, `linux-arm64`, `darwin-arm64`, …
 *
 * ```ts
 * prebuildTag('linux', 'arm64'); // 'linux-arm64'
 * ```
 */
export function prebuildTag(platform: string = process.platform, arch: string = process.arch): string {
  return `${platform}-${arch}`;
}

/**
 * The package root above `dir`: the nearest folder whose package.json is tfjs-diffusers' (the repository, or
 * node_modules/tfjs-diffusers), whatever the depth of the running file (lib/ under ts-jest, dist/, build/ of the
 * benches, a bundle in build/). Undefined when there is none (a bundle copied elsewhere).
 */
function packageRoot(dir: string = __dirname): string | undefined {
  for (let current = dir, up = 0; up < 8; up++) {
    const manifest = path.join(current, 'package.json');
    try {
      if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'tfjs-diffusers') return current;
    } catch {
      // no package.json here, or not JSON: keep looking
    }
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return undefined;
}

/** One place the addon may be: the prebuild for this platform or a local node-gyp build. */
export interface AddonCandidate {
  kind: 'env' | 'prebuild' | 'local build';
  path: string;
}

/**
 * Where the addon is looked for, in order: the path in `TFJS_DIFFUSERS_NATIVE` when it names one; else the prebuilt
 * addon for this platform (`prebuilds/<platform>-<arch>/`, shipped in the package), then a local build from source
 * (`native/build/Release`, `native/build/Debug`: `npm run build:native`, or the install script where no prebuild
 * fits). None found means plain wasm.
 *
 * ```ts
 * addonCandidates().map((c) => c.kind); // ['prebuild', 'local build', 'local build']
 * ```
 */
export function addonCandidates(root: string | undefined = packageRoot(), env: string | undefined = process.env[ADDON_ENV]): AddonCandidate[] {
  if (env && !['0', 'off', '1', 'on'].includes(env)) return [{ kind: 'env', path: path.resolve(env) }];
  if (root === undefined) return [];
  return [
    { kind: 'prebuild', path: path.join(root, PREBUILDS_DIR, prebuildTag(), ADDON_FILE) },
    { kind: 'local build', path: path.join(root, 'native', 'build', 'Release', ADDON_FILE) },
    { kind: 'local build', path: path.join(root, 'native', 'build', 'Debug', ADDON_FILE) },
  ];
}

/**
 * Why no addon was found, for the one-line notice: no prebuild for this platform and no local build, and the command
 * that builds one from source.
 */
export function addonNotFoundReason(buildCommand: string): string {
  const tag = prebuildTag();
  const prebuilt = (PREBUILT_PLATFORMS as readonly string[]).includes(tag);
  return prebuilt
    ? `not found (no ${PREBUILDS_DIR}/${tag}/${ADDON_FILE} in the package and no native/build/Release/${ADDON_FILE}; run \`${buildCommand}\` with a C++ compiler present)`
    : `not built (no prebuilt addon for ${tag} and no native/build/Release/${ADDON_FILE}; install a C++ compiler, then run \`${buildCommand}\`)`;
}
