#!/usr/bin/env node
// Prints the first 16 hex digits of sha256 over native/src (file names and bytes, sorted): compiled into the addon
// (binding.gyp) and reported by info().sourceHash, so a prebuilt binary can be matched to its sources.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const dir = path.join(__dirname, 'src');
const hash = crypto.createHash('sha256');
for (const name of fs.readdirSync(dir).sort()) {
  hash.update(`${name}\n`);
  hash.update(fs.readFileSync(path.join(dir, name)));
}
process.stdout.write(hash.digest('hex').slice(0, 16));
