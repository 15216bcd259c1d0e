/** The typed Tenantry client for integrations (see README.md). */
export {};
