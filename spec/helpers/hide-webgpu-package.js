// Preloaded (node --require, through NODE_OPTIONS) by spec/node/cli/webgpu.spec.ts: makes the npm package `webgpu`
// look not installed to this process, as on a user's machine without it. Resolving `webgpu` or a file of it throws
// MODULE_NOT_FOUND, exactly as Node does for a missing package.
'use strict';
const Module = require('module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'webgpu' || request.startsWith('webgpu/')) {
    const err = new Error(`Cannot find module '${request}'`);
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
