/**
 * A BullMQ Worker that starts a job as soon as it has fetched it.
 *
 * BullMQ's main loop fetches jobs one after another and starts the ones it fetched only when a
 * fetch comes back empty (or concurrency is reached): when N kicks wait (a burst of messages,
 * or the backlog behind a pause) all but the first start only after N + 1 round trips
 * (test/queue/prompt-worker.test.ts). Measured (BENCHMARKS.md, fifth pass): at half the
 * single-kick maximum, time from enqueue to the worker starting the kick fell from 1.13 to
 * 0.88 ms at p50 and from 2.8 to 2.0–2.3 ms at p90.
 *
 * How: after a fetch that returned a job, the loop's very next fetch answers "nothing" without
 * asking Redis; the loop then starts the job it has and fetches again right after (drained is
 * not set, so that fetch asks Redis at once instead of blocking). No job is skipped, only a round
 * trip is moved behind the start of the job in hand; concurrency and locking stay BullMQ's.
 * `moveToActive` is BullMQ's protected extension point for this fetch.
 */
import { Worker, type Job, type JobJson } from 'bullmq';

export class PromptWorker<Data> extends Worker<Data> {
  /** This worker's last fetch returned a job, and no other fetch has answered since. */
  private holdingFetched = false;

  protected override async moveToActive(token: string, name?: string): Promise<Job<Data>> {
    if (this.holdingFetched) {
      this.holdingFetched = false;
      // BullMQ's own "no job" answer is undefined too (its typings say Job).
      return undefined as unknown as Job<Data>;
    }
    const job = await super.moveToActive(token, name);
    this.holdingFetched = job !== undefined;
    return job;
  }

  /**
   * Every fetch's answer passes here, also a finished job's fetch of the next one, which ends the
   * hold. When the loop stops right after a fetch (the worker is full), the hold must not outlive
   * it: a later fetch answered "nothing" could be the one after a wake-up (queue emptied, then a
   * job arrived), and that wake-up would be lost until BullMQ's block timeout (5 s).
   */
  protected override nextJobFromJobData(jobData?: JobJson, jobId?: string, token?: string): Promise<Job<Data>> {
    this.holdingFetched = false;
    return super.nextJobFromJobData(jobData, jobId, token);
  }
}
