import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium package (`apt-get install -y chromium`); CHROMIUM_PATH overrides it. Playwright never downloads one. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The flags of issue 7: headless, no sandbox (CI runs as root), no GPU process (WebGL runs on SwiftShader, Chromium's
 * software renderer; WebGPU is then absent), and no network traffic of Chromium's own.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Why the browser tests cannot run here, or null. A missing chromium fails the suite with this message. */
export function chromiumMissingReason(): string | null {
  if (fs.existsSync(CHROMIUM_PATH)) return null;
  return (
    `Chromium not found at ${CHROMIUM_PATH}: the browser end-to-end tests need Debian's chromium ` +
    `(\`apt-get install -y chromium\`, as .ci/run does) or CHROMIUM_PATH pointing at a Chromium binary.`
  );
}

export interface LaunchedChromium {
  context: BrowserContext;
  /** Closes the browser and removes its fresh profile folder. */
  close(): Promise<void>;
}

/** Starts headless Chromium with {@link CHROMIUM_FLAGS} and a fresh `--user-data-dir` under os.tmpdir(). */
export async function launchChromium(extraFlags: readonly string[] = []): Promise<LaunchedChromium> {
  const missing = chromiumMissingReason();
  if (missing !== null) throw new Error(missing);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraFlags],
    viewport: { width: 1100, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
