import { describe, expect, it } from 'vitest';
import { checkSlug, isValidSlug, parseOrgRef, refersToDefaultOrg, slugify } from './slug.js';

describe('slug rules', () => {
  it.each(['ab', 'acme', 'eu-prod-1', '00', 'a'.repeat(48), 'a-b-c'])('accepts %s', (slug) => {
    expect(isValidSlug(slug)).toBe(true);
  });

  it.each([
    ['a', 'too short'],
    ['a'.repeat(49), 'too long'],
    ['Acme', 'uppercase'],
    ['-acme', 'leading dash'],
    ['acme-', 'trailing dash'],
    ['ac me', 'space'],
    ['ac_me', 'underscore'],
    ['ácme', 'accent'],
    ['../etc', 'path'],
    ['', 'empty'],
  ])('refuses %s (%s) with a reason', (slug) => {
    const result = checkSlug(slug);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/slug/i);
  });

  it('derives slugs from names', () => {
    expect(slugify('Production Datacenter')).toBe('production-datacenter');
    expect(slugify('  Acme, Ltd. ')).toBe('acme-ltd');
    expect(slugify('Zürich Ops')).toBe('zurich-ops');
    expect(slugify('X')).toBe('org-x');
    expect(slugify('!!!')).toBe('org-new');
    expect(isValidSlug(slugify('a'.repeat(80)))).toBe(true);
  });
});

describe('org references', () => {
  const id = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

  it('classifies ids, slugs and malformed values', () => {
    expect(parseOrgRef(id)).toEqual({ kind: 'id', id });
    expect(parseOrgRef(id.toUpperCase())).toEqual({ kind: 'id', id });
    expect(parseOrgRef('acme')).toEqual({ kind: 'slug', slug: 'acme' });
    expect(parseOrgRef('Bad_Slug!').kind).toBe('malformed');
    expect(parseOrgRef('../etc').kind).toBe('malformed');
    expect(parseOrgRef("1' OR '1'='1").kind).toBe('malformed');
  });

  it('knows the default org by slug or by its id', () => {
    expect(refersToDefaultOrg(parseOrgRef('default'), id)).toBe(true);
    expect(refersToDefaultOrg(parseOrgRef(id), id)).toBe(true);
    expect(refersToDefaultOrg(parseOrgRef('acme'), id)).toBe(false);
    expect(refersToDefaultOrg(parseOrgRef('!'), id)).toBe(false);
  });
});
