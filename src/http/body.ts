import { koaBody } from 'koa-body';

/** Bodies for our own routes only: the provider parses its own. Small limits; bad bodies become 4xx. */
export const formBody = koaBody({
  urlencoded: true,
  json: false,
  text: false,
  multipart: false,
  formLimit: '64kb',
});

export const jsonBody = koaBody({
  urlencoded: true,
  json: true,
  jsonStrict: true,
  text: false,
  multipart: false,
  jsonLimit: '256kb',
  formLimit: '64kb',
});
