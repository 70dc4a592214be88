/**
 * `npx node bench/query-cost.ts [N]`: what one adapter look-up costs the hub's process, by how it
 * is sent: the knex query builder (as src/oidc/adapter.ts does), knex.raw with fixed SQL, the pg
 * pool directly, and the pg pool with a named (prepared) statement. CPU µs and wall µs per query,
 * N sequential queries each, on a fresh database of its own that it drops. Evidence for where
 * the per-request cost of the Postgres-backed endpoints goes.
 */
import knexFactory from 'knex';
import pg from 'pg';
import { benchDatabase } from './backends.ts';

const rounds = Number(process.argv[2] ?? 3000);
const database = await benchDatabase(null, process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
const db = knexFactory({ client: 'pg', connection: database.url, pool: { min: 1, max: 4 } });
const pool = new pg.Pool({ connectionString: database.url, max: 4 });
try {
  await db.raw(`create table oidc_models (model text not null, id text not null, payload jsonb not null, expires_at timestamptz, consumed_at timestamptz, primary key (model, id))`);
  const payload = { accountId: 'a', clientId: 'c', grantId: 'g', scope: 'openid email profile', kind: 'AccessToken', iat: 1, exp: 2, jti: 'x' };
  await db('oidc_models').insert(Array.from({ length: 1000 }, (_, i) => ({ model: 'AccessToken', id: `t${i}`, payload })));
  const sql = 'select payload, expires_at, consumed_at from oidc_models where model = $1 and id = $2 limit 1';
  const ways: Record<string, (id: string) => Promise<unknown>> = {
    'knex builder': (id) => db('oidc_models').where({ model: 'AccessToken' }).andWhere({ id }).first('payload', 'expires_at', 'consumed_at'),
    'knex.raw': (id) => db.raw('select payload, expires_at, consumed_at from oidc_models where model = ? and id = ? limit 1', ['AccessToken', id]),
    'pg pool': (id) => pool.query(sql, ['AccessToken', id]),
    'pg pool, prepared': (id) => pool.query({ name: 'find-model', text: sql, values: ['AccessToken', id] }),
  };
  for (const [name, run] of Object.entries(ways)) {
    for (let i = 0; i < 200; i++) await run(`t${i % 1000}`);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < rounds; i++) await run(`t${i % 1000}`);
    const wall = (performance.now() - started) / rounds;
    const used = process.cpuUsage(cpu);
    console.log(`${name.padEnd(20)} ${(((used.user + used.system) / rounds)).toFixed(0).padStart(5)} µs CPU, ${(wall * 1000).toFixed(0).padStart(5)} µs wall per query`);
  }
} finally {
  await db.destroy();
  await pool.end();
  await database.release();
}
