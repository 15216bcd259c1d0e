/** The role every app connection runs as: owns nothing, no superuser, no BYPASSRLS. */
export const APP_ROLE = 'tenantry_app';
