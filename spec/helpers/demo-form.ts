// The browser demo (examples/web/) driven as a user drives it: fill the form, press Generate, wait for the page.
// Shared by the browser end-to-end specs (spec/e2e/browser.spec.ts, browser-download.spec.ts).
import type { Page } from 'playwright-core';

/** The demo form's fields. */
export interface DemoSettings {
  backend: 'webgl' | 'wasm' | 'cpu' | 'webgpu';
  seed: string;
  steps: number;
  eta: number;
  batch: number;
  /** The embedded model (default) or a converted pipeline folder by URL. */
  modelUrl?: string;
}

/**
 * Fills the demo's form (the embedded model unless `modelUrl`), presses Generate and waits (up to `timeoutMs`) until
 * the page says done; throws with the page's error message when it failed.
 */
export async function runDemoForm(page: Page, settings: DemoSettings, timeoutMs: number): Promise<void> {
  await page.evaluate(() => void (document.getElementById('status')!.dataset.state = 'idle'));
  await page.selectOption('#model-choice', settings.modelUrl === undefined ? 'embedded' : 'url');
  if (settings.modelUrl !== undefined) await page.fill('#model-url', settings.modelUrl);
  await page.selectOption('#backend', settings.backend);
  await page.fill('#seed', settings.seed);
  await page.fill('#steps', String(settings.steps));
  await page.fill('#eta', String(settings.eta));
  await page.fill('#batch', String(settings.batch));
  await page.click('#run');
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status')!.dataset.state ?? ''), undefined, { timeout: timeoutMs });
  const error = await page.textContent('#error');
  if (error) throw new Error(`the demo page failed on ${settings.backend}: ${error}`);
}
