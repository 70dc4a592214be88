import type { Knex } from 'knex';

export interface Pager {
  page: number;
  perPage: number;
  hasPrev: boolean;
  hasNext: boolean;
  /** The query string of the list without its page, for building the links. */
  base: string;
}

/** ?page= as a positive integer; anything else is the first page. */
export function pageParam(value: unknown): number {
  const page = Number(value);
  return Number.isInteger(page) && page >= 1 && page <= 100_000 ? page : 1;
}

/** One page of a query: asks for one row more than it shows, to know whether a next page exists. */
export async function paginate<T>(query: Knex.QueryBuilder, page: number, perPage: number, params: Record<string, string | undefined> = {}): Promise<{ items: T[]; pager: Pager }> {
  const rows = (await query.clone().limit(perPage + 1).offset((page - 1) * perPage)) as T[];
  const base = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => Boolean(e[1]))).toString();
  return { items: rows.slice(0, perPage), pager: { page, perPage, hasPrev: page > 1, hasNext: rows.length > perPage, base } };
}

/** Pages an array already in memory (small lists read whole, like a person's sessions). */
export function paginateArray<T>(all: T[], page: number, perPage: number, params: Record<string, string | undefined> = {}): { items: T[]; pager: Pager } {
  const base = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => Boolean(e[1]))).toString();
  const items = all.slice((page - 1) * perPage, page * perPage);
  return { items, pager: { page, perPage, hasPrev: page > 1, hasNext: all.length > page * perPage, base } };
}
