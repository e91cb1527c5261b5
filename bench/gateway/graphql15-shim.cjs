/* eslint-disable @typescript-eslint/no-require-imports */
/* global require, process */
// PostGraphile v4 needs graphql 15, while the workspace pins graphql 16 for everything else.
// Preloaded (node --require) into the baseline's process only: every `graphql` / `graphql/*`
// request resolves to the copy in $GRAPHQL15_DIR (installed by run.ts under .data/).
const Module = require('node:module');
const path = require('node:path');

const target = process.env.GRAPHQL15_DIR;
if (!target) throw new Error('GRAPHQL15_DIR is not set');
const original = Module._resolveFilename;
Module._resolveFilename = function resolveGraphql15(request, parent, ...rest) {
  if (request === 'graphql' || request.startsWith('graphql/')) request = path.join(target, request.slice('graphql'.length));
  return original.call(this, request, parent, ...rest);
};
