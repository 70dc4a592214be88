import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ExecutionContext } from 'ava';
import { loadOpenApi } from '../../src/web/api/openapi.ts';

type Response = { $ref?: string; content?: Record<string, { schema: unknown }> };
type Document = { paths: Record<string, Record<string, { responses: Record<string, Response> }>> };

const document = loadOpenApi() as unknown as Document & Record<string, unknown>;
// The OpenAPI document is itself the schema store: response schemas are referenced by JSON pointer into it.
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
ajv.addFormat('date-time', { validate: (value: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value) && !Number.isNaN(Date.parse(value)) });
ajv.addSchema({ ...document, $id: 'openapi' });

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * Checks a response against the document: the status must be documented for the operation, and
 * the body must match its schema for the content type the hub sent.
 */
export function checkResponse(t: ExecutionContext, path: string, method: string, response: { status: number; headers: Headers; body: unknown }): void {
  const operation = document.paths[path]?.[method.toLowerCase()];
  if (!operation) return void t.fail(`${method} ${path} is not in docs/openapi.yaml`);
  let documented = operation.responses[String(response.status)];
  let where = pointer('paths', path, method.toLowerCase(), 'responses', String(response.status));
  if (documented?.$ref) {
    where = documented.$ref.slice(2);
    documented = where.split('/').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], document) as Response;
  }
  if (!documented) return void t.fail(`${method} ${path} answered ${response.status}, which docs/openapi.yaml does not list`);
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (!documented.content) {
    t.is(response.body, null, `${method} ${path} ${response.status} has no body in the document`);
    return;
  }
  if (!documented.content[type]) return void t.fail(`${method} ${path} ${response.status} answered ${type}, not documented`);
  const ref = `openapi#/${where}/${pointer('content', type, 'schema')}`;
  const validate = ajv.getSchema(ref);
  if (!validate) return void t.fail(`no schema at ${ref}`);
  const ok = validate(response.body);
  t.true(ok, `${method} ${path} ${response.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(response.body).slice(0, 500)}`);
}

export const openApiDocument = document;
