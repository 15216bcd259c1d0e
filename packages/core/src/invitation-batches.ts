import { regexes } from 'zod';
import { normalizeEmail } from './invitations.js';
import { ORG_ROLES, type OrgRole } from './permissions.js';

/** Most invitations one bulk request carries (`invitations.createMany`). */
export const MAX_INVITATIONS_PER_REQUEST = 500;

/** Invitations per request when a client sends a long list in chunks (the web app, the CLI). */
export const INVITATION_CHUNK_SIZE = 100;

/** Longest email address accepted (RFC 5321's path limit). */
export const EMAIL_MAX_LENGTH = 254;

/**
 * Whether `email` (normalized) is an address the API accepts: the same pattern as the API's
 * email input schema, so a list checked here is not refused there.
 */
export function isValidEmail(email: string): boolean {
  return email.length <= EMAIL_MAX_LENGTH && regexes.email.test(email);
}

/** One person to invite. */
export interface InvitationRequest {
  email: string;
  role: OrgRole;
}

/** A request of a batch, with its position in the request. */
export interface PlannedInvitation extends InvitationRequest {
  index: number;
}

/** What a bulk request does with each distinct email, in request order. */
export interface InvitationPlan<P> {
  /** Emails with neither a membership nor a pending invitation: new invitations. */
  create: PlannedInvitation[];
  /** Emails with a pending invitation: resent, as inviting them alone does (it keeps its role). */
  resend: (PlannedInvitation & { pending: P })[];
  /** Emails of members: skipped with ALREADY_MEMBER. */
  skip: PlannedInvitation[];
  /** Requests that repeated an email already in the batch (the first one counts). */
  duplicates: number;
}

/** The distinct normalized emails of a batch, in order of first appearance. */
export function distinctEmails(requests: readonly InvitationRequest[]): string[] {
  return [...new Set(requests.map((r) => normalizeEmail(r.email)))];
}

/**
 * Sorts a batch out: emails normalized and de-duplicated (the first request of an email
 * counts), members skipped before anything else (as a single invitation of a member is
 * refused), pending invitations resent, the rest created. `members` and `pending` are keyed
 * by normalized email.
 */
export function planInvitations<P>(
  requests: readonly InvitationRequest[],
  { members, pending }: { members: ReadonlySet<string>; pending: ReadonlyMap<string, P> },
): InvitationPlan<P> {
  const plan: InvitationPlan<P> = { create: [], resend: [], skip: [], duplicates: 0 };
  const seen = new Set<string>();
  requests.forEach((request, index) => {
    const email = normalizeEmail(request.email);
    if (seen.has(email)) {
      plan.duplicates += 1;
      return;
    }
    seen.add(email);
    const planned = { index, email, role: request.role };
    const held = pending.get(email);
    if (members.has(email)) plan.skip.push(planned);
    else if (held !== undefined) plan.resend.push({ ...planned, pending: held });
    else plan.create.push(planned);
  });
  return plan;
}

/** An address of a pasted list, with the line it came from (1-based). */
export interface InvitationListEntry extends InvitationRequest {
  line: number;
}

/** Something in a pasted list that is not an address to invite, and why. */
export interface InvalidListEntry {
  line: number;
  text: string;
  reason: string;
}

/** A pasted list, read. */
export interface ParsedInvitationList {
  /** Distinct addresses to invite, in the order they appear. */
  entries: InvitationListEntry[];
  invalid: InvalidListEntry[];
  /** Addresses that appeared again (their first appearance counts). */
  duplicates: number;
}

const SEPARATORS = /[\s,;]+/;
const HEADER_WORDS = new Set(['email', 'e-mail', 'address', 'role']);

function isRole(word: string): word is OrgRole {
  return (ORG_ROLES as readonly string[]).includes(word);
}

/** `Jane Doe <jane@example.com>` and `"Doe, Jane" <jane@example.com>` (as mail programs copy them): the address. */
function withoutDisplayNames(line: string): string {
  return line.replace(/"[^"]*"\s*(?=<)/g, '').replace(/[^,;<>]*<([^<>]*)>/g, ' $1 ');
}

/**
 * Reads a list of addresses as people paste it: one per line, or several separated by commas,
 * semicolons or spaces, optionally `email,role` (a role right after an address applies to
 * it; others get `defaultRole`), with display names (`Name <email>`), a CSV header line and
 * `#` comments allowed. A role outside `roles` (those the inviter may grant) is invalid.
 */
export function parseInvitationList(
  text: string,
  { defaultRole, roles = ORG_ROLES }: { defaultRole: OrgRole; roles?: readonly OrgRole[] },
): ParsedInvitationList {
  const result: ParsedInvitationList = { entries: [], invalid: [], duplicates: 0 };
  const seen = new Set<string>();
  let headerAllowed = true;
  text.split(/\r\n|\r|\n/).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const words = withoutDisplayNames(trimmed).split(SEPARATORS).filter(Boolean);
    if (words.length === 0) return;
    const isHeader = headerAllowed && words.every((w) => HEADER_WORDS.has(w.toLowerCase()));
    headerAllowed = false;
    if (isHeader) return;
    const found: (InvitationListEntry & { explicit: boolean })[] = [];
    for (const word of words) {
      const lower = word.toLowerCase();
      const last = found.at(-1);
      if (isRole(lower)) {
        if (last && !last.explicit) {
          last.role = lower;
          last.explicit = true;
        } else result.invalid.push({ line, text: word, reason: 'a role without an address before it' });
        continue;
      }
      const email = normalizeEmail(word);
      if (isValidEmail(email)) found.push({ line, email, role: defaultRole, explicit: false });
      else {
        const reason = word.includes('@')
          ? 'not a valid email address'
          : `neither an email address nor a role (${ORG_ROLES.join(', ')})`;
        result.invalid.push({ line, text: word, reason });
      }
    }
    for (const { explicit: _explicit, ...entry } of found) {
      if (!roles.includes(entry.role)) {
        result.invalid.push({
          line,
          text: `${entry.email},${entry.role}`,
          reason: `you cannot invite as ${entry.role}`,
        });
      } else if (seen.has(entry.email)) result.duplicates += 1;
      else {
        seen.add(entry.email);
        result.entries.push(entry);
      }
    }
  });
  return result;
}

/** Splits `items` into consecutive chunks of at most `size`. */
export function chunked<T>(items: readonly T[], size: number = INVITATION_CHUNK_SIZE): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
