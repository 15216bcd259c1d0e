/**
 * The ceiling of the resources-list benchmark, run as its own process: plain Fastify and a
 * `pg` pool as the table owner, no tenancy at all. `GET /resources?org=<id>` answers the first
 * page of 50 of that org's resources (by name, then id) in the product's JSON shape.
 * Configured by environment: DATABASE_URL, POOL_MAX (default 10, the product's pool).
 * Prints `listening <port>` once it listens on 127.0.0.1, and closes on SIGTERM.
 */
import Fastify from 'fastify';
import pg from 'pg';

const PAGE = 50;

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX ?? 10) });

const app = Fastify({ logger: false });
app.get<{ Querystring: { org?: string } }>('/resources', async (req, reply) => {
  const org = req.query.org;
  if (!org) return reply.code(400).send({ code: 'VALIDATION_FAILED', message: 'org is required' });
  const { rows } = await pool.query(
    `select id, agent_id as "agentId", type, name, status, cpu, memory, disk, notes, tags,
            created_at as "createdAt", updated_at as "updatedAt", reported_at as "reportedAt"
     from resources where org_id = $1 order by name, id limit ${PAGE}`,
    [org],
  );
  const last = rows.length === PAGE ? rows[PAGE - 1] : undefined;
  return { resources: rows, nextCursor: last ? `${last.name}\u0000${last.id}` : null };
});

await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);

process.once('SIGTERM', async () => {
  await app.close();
  await pool.end();
  process.exit(0);
});
