/**
 * Route labels for metrics: the template a request matched (`/api/orgs/{orgId}/members`,
 * `/trpc/orgs.list`), never the raw path, so ids and tokens never become label values and
 * the number of series stays bounded by the API surface.
 */

/** Label of requests that matched no route. */
export const UNMATCHED_ROUTE = '{unmatched}';
/** Label of the web app's files and its SPA fallback. */
export const WEB_ROUTE = '{web}';

interface CompiledTemplate {
  template: string;
  pattern: RegExp;
  /** Literal segments: `/orgs/{orgId}/shares/incoming` beats `/orgs/{orgId}/shares/{shareId}`. */
  literals: number;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matches concrete REST paths against OpenAPI path templates (`/orgs/{orgId}`) under a base. */
export class RestRouteMatcher {
  private readonly templates: CompiledTemplate[];

  constructor(
    paths: Iterable<string>,
    private readonly base: string,
  ) {
    this.templates = [...paths]
      .map((template) => {
        const segments = template.split('/').filter(Boolean);
        const source = segments.map((s) => (/^\{[^}]+\}$/.test(s) ? '[^/]+' : escapeRegExp(s))).join('/');
        return {
          template: `${base}${template}`,
          pattern: new RegExp(`^/${source}/?$`),
          literals: segments.filter((s) => !s.startsWith('{')).length,
        };
      })
      .sort((a, b) => b.literals - a.literals);
  }

  /** The template of `path` (without the base; query string ignored), or null. */
  match(path: string): string | null {
    const bare = path.split('?', 1)[0] ?? '';
    if (!bare.startsWith(this.base)) return null;
    const rest = bare.slice(this.base.length) || '/';
    return this.templates.find((t) => t.pattern.test(rest))?.template ?? null;
  }
}

/**
 * The label of a tRPC request: `/trpc/<procedure>` for one known procedure, `/trpc/{batch}`
 * for a batch of several, `/trpc/{procedure}` for names the router does not have.
 */
export function trpcRouteLabel(procedurePath: string, known: ReadonlySet<string>): string {
  const names = procedurePath.split(',');
  if (names.length > 1) return '/trpc/{batch}';
  return known.has(procedurePath) ? `/trpc/${procedurePath}` : '/trpc/{procedure}';
}

/** Fastify's `/admin/jobs/api/queues/:queueName` written as a template: `/admin/jobs/api/queues/{queueName}`. */
export function fastifyRouteTemplate(url: string): string {
  return url.replace(/:(\w+)(\([^)]*\))?/g, '{$1}').replace(/\*$/, '{path}');
}
