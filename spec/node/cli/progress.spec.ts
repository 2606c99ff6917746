import { createProgressDisplay, QUIET_PROGRESS } from '../../../lib/node/cli/progress';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, write: (s: string) => (chunks.push(s), true), columns: 120, cursorTo() {}, clearLine() {}, moveCursor() {}, on() {}, removeListener() {} }, chunks };
}

describe('createProgressDisplay', () => {
  test('is quiet when stderr is not a terminal', () => {
    const { stream, chunks } = fakeStream(false);
    const progress = createProgressDisplay(stream);
    expect(progress).toBe(QUIET_PROGRESS);
    progress.start(3, 'seed 0');
    progress.update(1);
    progress.stop();
    expect(chunks).toEqual([]);
  });

  test('draws steps, it/s and ETA on a terminal', () => {
    const { stream, chunks } = fakeStream(true);
    const progress = createProgressDisplay(stream);
    progress.start(4, 'seed 7');
    progress.update(2);
    progress.update(4);
    progress.stop();
    const text = chunks.join('');
    expect(text).toContain('seed 7');
    expect(text).toContain('4/4 steps');
    expect(text).toMatch(/it\/s/);
    expect(text).toMatch(/ETA/);
  });
});
