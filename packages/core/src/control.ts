import { orgKey } from './tenancy.js';

/**
 * Control messages of an org, published on its `org:{orgId}:control` channel when its status
 * changes: live streams close on `suspended` and `deleted`, in-process caches (tokens, org
 * rows) drop what they hold for the org on any of them.
 */
export const ORG_CONTROL_TYPES = ['suspended', 'resumed', 'deleted'] as const;
export type OrgControlType = (typeof ORG_CONTROL_TYPES)[number];

export interface OrgControlMessage {
  type: OrgControlType;
}

/** The pub/sub channel of an org's control messages. */
export function orgControlChannel(orgId: string): string {
  return orgKey(orgId, 'control');
}

/** A control message as published (JSON). */
export function encodeOrgControl(type: OrgControlType): string {
  return JSON.stringify({ type } satisfies OrgControlMessage);
}

/** A received control message, or null when it is not one. */
export function decodeOrgControl(raw: string): OrgControlMessage | null {
  try {
    const parsed = JSON.parse(raw) as { type?: unknown };
    return ORG_CONTROL_TYPES.includes(parsed.type as OrgControlType) ? { type: parsed.type as OrgControlType } : null;
  } catch {
    return null;
  }
}
