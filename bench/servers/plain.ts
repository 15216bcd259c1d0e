/**
 * The ceiling of the resources-list benchmark, run as its own process: plain Fastify and a
 * `pg` pool as the table owner, no tenancy at all. `GET /resources?org=<id>` answers the first
 * page of 50 of that org's resources (by name, then id), with the product's columns and in
 * its JSON shape (the product's query also merges resources shared with the org).
 * Configured by environment: DATABASE_URL, POOL_MAX (default 10, the product's pool).
 * Prints `listening <port>` once it listens on 127.0.0.1, and closes on SIGTERM.
 */
import Fastify from 'fastify';
import pg from 'pg';

const PAGE = 50;

// The product's columns and rounding (packages/db resources.ts), its own resources only.
const usage = (col: string) => `round(${col}::numeric, 4)::float8`;
const PAGE_SQL = `select org_id as "orgId", id, agent_id as "agentId", type, name, status,
    ${usage('cpu')} as cpu, ${usage('memory')} as memory, ${usage('disk')} as disk, notes, tags,
    reported_at as "reportedAt", updated_at as "updatedAt"
  from resources where org_id = $1 order by name, id limit ${PAGE + 1}`;

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 10) });

interface Row {
  orgId: string;
  id: string;
  name: string;
  [column: string]: unknown;
}

const app = Fastify({ logger: false });
app.get<{ Querystring: { org?: string } }>('/resources', async (req, reply) => {
  const org = req.query.org;
  if (!org) return reply.code(400).send({ code: 'VALIDATION_FAILED', message: 'org is required' });
  const { rows } = await pool.query<Row>(PAGE_SQL, [org]);
  const page = rows.slice(0, PAGE);
  const last = page.at(-1);
  // The product's page: `{ resources, nextCursor }`, the cursor being base64url of [name, id].
  return {
    resources: page.map((r) => ({ ...r, shared: null })),
    nextCursor:
      rows.length > PAGE && last ? Buffer.from(JSON.stringify([last.name, last.id])).toString('base64url') : null,
  };
});

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);

process.once('SIGTERM', async () => {
  await app.close();
  await pool.end();
  process.exit(0);
});
