import { describe, expect, it } from 'vitest';
import { safeUrl } from './logger.js';
import { fastifyRouteTemplate, RestRouteMatcher, trpcRouteLabel } from './route-labels.js';

describe('REST route labels', () => {
  const matcher = new RestRouteMatcher(
    ['/orgs', '/orgs/{orgId}', '/orgs/{orgId}/shares/{shareId}', '/orgs/{orgId}/shares/incoming', '/org'],
    '/api',
  );

  it('are the template a path matched, without ids or query strings', () => {
    expect(matcher.match('/api/orgs')).toBe('/api/orgs');
    expect(matcher.match('/api/orgs/5b0e6f6e-8f0c-4a53-9d3c-3f9e0c4c7a10')).toBe('/api/orgs/{orgId}');
    expect(matcher.match('/api/orgs/acme/?x=1')).toBe('/api/orgs/{orgId}');
    expect(matcher.match('/api/org')).toBe('/api/org');
  });

  it('prefer literal segments over parameters', () => {
    expect(matcher.match('/api/orgs/acme/shares/incoming')).toBe('/api/orgs/{orgId}/shares/incoming');
    expect(matcher.match('/api/orgs/acme/shares/123')).toBe('/api/orgs/{orgId}/shares/{shareId}');
  });

  it('are null for paths outside the base or the document', () => {
    expect(matcher.match('/api/nothing/here')).toBeNull();
    expect(matcher.match('/trpc/orgs.list')).toBeNull();
  });
});

describe('tRPC route labels', () => {
  const known = new Set(['orgs.list', 'auth.me']);
  it('name one known procedure, and group batches and unknown names', () => {
    expect(trpcRouteLabel('orgs.list', known)).toBe('/trpc/orgs.list');
    expect(trpcRouteLabel('orgs.list,auth.me', known)).toBe('/trpc/{batch}');
    expect(trpcRouteLabel('made.up.by.a.client', known)).toBe('/trpc/{procedure}');
  });
});

describe('Fastify route templates', () => {
  it('write parameters as OpenAPI does', () => {
    expect(fastifyRouteTemplate('/admin/jobs/api/queues/:queueName/:jobId/retry')).toBe(
      '/admin/jobs/api/queues/{queueName}/{jobId}/retry',
    );
    expect(fastifyRouteTemplate('/admin/jobs/static/*')).toBe('/admin/jobs/static/{path}');
    expect(fastifyRouteTemplate('/api/health')).toBe('/api/health');
  });
});

describe('URLs in logs', () => {
  const token = 'VGhpcyBpcyBhIHRva2Vu_c2VjcmV0.Qm9vbV9ib29tX3NlY3JldF9zZWNyZXRfMTIzNDU2Nzg5MA';
  it('hide tokens in paths and secret query values, and keep the rest', () => {
    expect(safeUrl(`/api/invitations/${token}/accept`)).toBe('/api/invitations/[redacted]/accept');
    expect(safeUrl(`/invite/${token}`)).toBe('/invite/[redacted]');
    expect(safeUrl(`/trpc/invitations.byToken?input=${encodeURIComponent(JSON.stringify({ token }))}`)).toBe(
      '/trpc/invitations.byToken?input=[redacted]',
    );
    expect(safeUrl('/api/orgs/5b0e6f6e-8f0c-4a53-9d3c-3f9e0c4c7a10/members?limit=5')).toBe(
      '/api/orgs/5b0e6f6e-8f0c-4a53-9d3c-3f9e0c4c7a10/members?limit=5',
    );
    expect(safeUrl('/api/orgs/a-rather-long-organization-slug-here')).toBe(
      '/api/orgs/a-rather-long-organization-slug-here',
    );
  });
});
