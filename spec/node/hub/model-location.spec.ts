import { looksLikePath } from '../../../lib/node/hub/model-location';

// A model location that names no existing file: a path (an error if missing), or a Hub id / URL (fetched).
test.each([
  ['./model', true],
  ['../model', true],
  ['/abs/model', true],
  ['~/model', true],
  ['C:\\models\\ddpm', true],
  ['C:/models/ddpm', true],
  ['models/', true],
  ['a/b/c', true],
  ['google/ddpm-cifar10-32', false],
  ['ddpm-cifar10-32', false],
  // `http:` and `https:` were once taken for drive letters: `generate --model http://…` said "no such folder".
  ['http://127.0.0.1:8080/models/tiny-random', false],
  ['HTTPS://huggingface.co/google/ddpm-cifar10-32/resolve/main', false],
])('looksLikePath(%j) is %s', (location, expected) => {
  expect(looksLikePath(location)).toBe(expected);
});
