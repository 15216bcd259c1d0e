/** Queue of alert notification mails. The API enqueues one job per (alert, event). */
export const ALERT_NOTIFICATION_QUEUE = 'alert-notification';

/** What happened to the alert. */
export type AlertNotificationEvent = 'fired' | 'resolved';

/**
 * Data of an alert notification job (built by the API's alert evaluation). Only references:
 * the processor reads the alert in its org's scope, so a job can never mail another org's data.
 */
export interface AlertNotificationJob {
  orgId: string;
  alertId: string;
  event: AlertNotificationEvent;
}

/**
 * Job options the producer uses. The alert is written in the report's transaction, which may
 * still be open when the job is picked up: an alert not yet visible is retried with backoff.
 */
export const ALERT_NOTIFICATION_JOB_OPTIONS = {
  attempts: 6,
  backoff: { type: 'exponential' as const, delay: 500 },
  removeOnComplete: 1000,
  removeOnFail: 5000,
};

/** Deterministic job id: one mail per alert and event, however often it is enqueued. */
export function alertNotificationJobId(alertId: string, event: AlertNotificationEvent): string {
  return `alert-${alertId}-${event}`;
}
