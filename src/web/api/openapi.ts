import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../platform/views.ts';

export const openApiFile = path.join(projectRoot, 'docs', 'openapi.yaml');

/** docs/openapi.yaml, parsed once: the one description of the REST API, served as /openapi.json. */
export function loadOpenApi(file = openApiFile): Record<string, unknown> {
  return parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}
