import { type Db, type OrgInvitationDelivery, recordInvitationSent, recordInvitationsSent } from '@tenantry/db';

interface Waiting {
  delivery: OrgInvitationDelivery;
  resolve(recorded: boolean): void;
  reject(error: unknown): void;
}

/** Deliveries recorded in one transaction at most. */
const MAX_BATCH = 200;

/**
 * Group commit of delivered invitation mails: every mail job awaits its own record, and the
 * records of the jobs that finish sending while one write is in flight go together in the
 * next write (`recordInvitationsSent`: one transaction, two round trips, whatever the orgs).
 * Nothing is delayed when the worker is quiet, a job completes only once its `sent` has
 * committed, and a batch that fails is retried one delivery at a time.
 */
export class InvitationDeliveryRecorder {
  private waiting: Waiting[] = [];
  private flushing = false;
  private scheduled = false;

  constructor(private readonly db: Db) {}

  /** Records one delivery; resolves with whether it was recorded (false: a resend moved on). */
  record(delivery: OrgInvitationDelivery): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.push({ delivery, resolve, reject });
      if (!this.flushing && !this.scheduled) {
        this.scheduled = true;
        // Let the deliveries that finish in this turn of the event loop join the write.
        setImmediate(() => {
          this.scheduled = false;
          void this.flush();
        });
      }
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, MAX_BATCH);
        try {
          const recorded = await recordInvitationsSent(
            this.db,
            batch.map((w) => w.delivery),
          );
          for (const [i, w] of batch.entries()) w.resolve(recorded[i] ?? false);
        } catch {
          await Promise.all(batch.map((w) => this.recordAlone(w)));
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async recordAlone(w: Waiting): Promise<void> {
    const { orgId } = w.delivery;
    try {
      w.resolve(await this.db.tenant({ orgId }, (em) => recordInvitationSent(em, orgId, w.delivery)));
    } catch (error) {
      w.reject(error);
    }
  }
}

const recorders = new WeakMap<Db, InvitationDeliveryRecorder>();

/** The recorder of a database (one per worker process and database). */
export function deliveryRecorderFor(db: Db): InvitationDeliveryRecorder {
  let recorder = recorders.get(db);
  if (!recorder) {
    recorder = new InvitationDeliveryRecorder(db);
    recorders.set(db, recorder);
  }
  return recorder;
}
