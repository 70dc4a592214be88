// The layers of src/, lowest first. A file may import from its own folder and from any layer
// below its own; never from a layer above, and never from another folder of its own layer.
// docs/architecture.md lists the same folders (test/foundation/layers.test.ts keeps them equal).
import path from 'node:path';

/** @type {Array<{ name: string; folders: string[] }>} */
export const layers = [
  { name: 'platform', folders: ['platform'] },
  { name: 'database', folders: ['db'] },
  { name: 'queries', folders: ['queries'] },
  { name: 'audit and outbox', folders: ['audit', 'outbox'] },
  { name: 'service catalogue', folders: ['catalog'] },
  { name: 'identity', folders: ['identity'] },
  { name: 'browser sessions', folders: ['sessions'] },
  { name: 'privacy', folders: ['privacy'] },
  { name: 'device apps', folders: ['devices'] },
  { name: 'events', folders: ['events'] },
  { name: 'OpenID provider', folders: ['oidc'] },
  { name: 'web plumbing', folders: ['web/http'] },
  { name: 'web pages and APIs', folders: ['web/sign-in', 'web/portal', 'web/admin', 'web/api', 'web/live', 'web/graphql', 'web/gateway', 'web/mailbox'] },
  { name: 'composition', folders: ['app'] },
  { name: 'command line', folders: ['cli'] },
  { name: 'entry points', folders: ['main.ts', 'cli.ts'] },
];

/** The folder (as listed in `layers`) a path under src/ belongs to, and its layer's rank; null outside src/ or unlisted. */
export function placeOf(srcRoot, file) {
  const relative = path.relative(srcRoot, file).split(path.sep).join('/');
  if (relative.startsWith('..')) return null;
  for (const [rank, layer] of layers.entries()) {
    for (const folder of layer.folders) {
      if (relative === folder || relative.startsWith(`${folder}/`)) return { folder, rank, layer: layer.name };
    }
  }
  return { folder: relative.split('/')[0], rank: -1, layer: 'unlisted' };
}

/** ESLint rule `layers/imports-point-down`. */
const importsPointDown = {
  meta: {
    type: 'problem',
    docs: { description: 'An import in src/ points to its own folder or to a lower layer (eslint/layers.js).' },
    schema: [{ type: 'object', properties: { srcRoot: { type: 'string' } }, additionalProperties: false }],
  },
  create(context) {
    const srcRoot = context.options[0]?.srcRoot ?? path.join(context.cwd, 'src');
    const from = placeOf(srcRoot, context.filename);
    if (!from) return {};
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const to = placeOf(srcRoot, path.resolve(path.dirname(context.filename), source.value));
      if (!to || to.folder === from.folder) return;
      if (from.rank < 0 || to.rank < 0) {
        context.report({ node, message: `src/${from.rank < 0 ? from.folder : to.folder} is in no layer: add it to eslint/layers.js and docs/architecture.md.` });
      } else if (to.rank > from.rank) {
        context.report({ node, message: `src/${from.folder} (${from.layer}) may not import src/${to.folder} (${to.layer}, a layer above it): move the shared piece down, or pass it in.` });
      } else if (to.rank === from.rank) {
        context.report({ node, message: `src/${from.folder} may not import src/${to.folder}: they are side by side in the ${from.layer} layer; move the shared piece down.` });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source),
    };
  },
};

export const layersPlugin = { rules: { 'imports-point-down': importsPointDown } };
