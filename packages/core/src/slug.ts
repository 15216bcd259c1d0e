/** Slugs: lowercase letters, digits and dashes, 2–48 characters, no leading or trailing dash. */
export const SLUG_MIN = 2;
export const SLUG_MAX = 48;
const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The slug of the organization that always exists. */
export const DEFAULT_ORG_SLUG = 'default';

export type SlugCheck = { ok: true } | { ok: false; reason: string };

/** Checks a slug against the rules and says what is wrong in words a person can act on. */
export function checkSlug(slug: string): SlugCheck {
  if (slug.length < SLUG_MIN || slug.length > SLUG_MAX) {
    return { ok: false, reason: `A slug has ${SLUG_MIN} to ${SLUG_MAX} characters.` };
  }
  if (!SLUG_RE.test(slug)) {
    return {
      ok: false,
      reason: 'A slug uses lowercase letters, digits and dashes only, and cannot start or end with a dash.',
    };
  }
  return { ok: true };
}

export function isValidSlug(slug: string): boolean {
  return checkSlug(slug).ok;
}

/** Derives a slug from a display name ("Production Datacenter" → "production-datacenter"). */
export function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_MAX)
    .replace(/-+$/g, '');
  return base.length >= SLUG_MIN ? base : `org-${base || 'new'}`.slice(0, SLUG_MAX);
}

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/** How a client named an organization: by id, by slug, or in a form that is neither. */
export type OrgRef = { kind: 'id'; id: string } | { kind: 'slug'; slug: string } | { kind: 'malformed'; raw: string };

/** Classifies an org identifier from a header, a path or a session. */
export function parseOrgRef(raw: string): OrgRef {
  const value = raw.trim();
  if (isUuid(value)) return { kind: 'id', id: value.toLowerCase() };
  if (isValidSlug(value)) return { kind: 'slug', slug: value };
  return { kind: 'malformed', raw };
}

/** Whether a parsed reference names the default organization (whose id is only known at run time). */
export function refersToDefaultOrg(ref: OrgRef, defaultOrgId: string): boolean {
  if (ref.kind === 'slug') return ref.slug === DEFAULT_ORG_SLUG;
  if (ref.kind === 'id') return ref.id === defaultOrgId.toLowerCase();
  return false;
}
