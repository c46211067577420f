/**
 * Every Web API call of the adapter goes through `SlackApi.call`: WebClient's own retries are
 * off (a write that timed out after Slack took it must not be posted again behind our back), so
 * 429 is handled here explicitly — wait Retry-After (capped) and send the same call again, which
 * is safe because a rate-limited call did not run. A fatal answer (token revoked, invalid auth)
 * is reported once through `onFatal` and rethrown as an AdapterFatalError.
 */
import { AdapterFatalError, type AdapterLogger } from '../../src/core/adapter.js';
import { decisionOf, describeSlackError, retryAfterOf, slackErrorOf } from './api-errors.js';
import { SLACK_DEFAULTS } from './config.js';

/** What SlackApi needs from a WebClient (its generic `apiCall`). */
export interface ApiCaller {
  apiCall(method: string, options?: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export interface SlackApiOptions {
  client: ApiCaller;
  logger: AdapterLogger;
  botId: string;
  onFatal?: (err: AdapterFatalError) => void;
  /** Told of every 429 (waited out or not). */
  onRateLimited?: () => void;
  maxRetryAfterSeconds?: number;
  maxRateLimitRetries?: number;
  /** For tests: how waiting is done. */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class SlackApi {
  private fatal: AdapterFatalError | undefined;

  constructor(private readonly o: SlackApiOptions) {}

  /** Set once a call was refused for good; later calls fail at once with it. */
  get fatalError(): AdapterFatalError | undefined {
    return this.fatal;
  }

  /**
   * `waitOnRateLimit: false`: a 429 is thrown at once (cosmetic calls such as the status reaction
   * are not worth holding a reply for).
   */
  async call<T = Record<string, unknown>>(method: string, args: Record<string, unknown>, options: { waitOnRateLimit?: boolean } = {}): Promise<T> {
    if (this.fatal) throw this.fatal;
    const maxRetries = this.o.maxRateLimitRetries ?? SLACK_DEFAULTS.maxRateLimitRetries;
    const maxWait = this.o.maxRetryAfterSeconds ?? SLACK_DEFAULTS.maxRetryAfterSeconds;
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.o.client.apiCall(method, args)) as T;
      } catch (err) {
        const decision = decisionOf(err);
        if (decision === 'fatal') throw this.markFatal(method, err);
        const seconds = retryAfterOf(err);
        if (decision === 'wait_and_retry') this.o.onRateLimited?.();
        if (decision !== 'wait_and_retry' || seconds === undefined || options.waitOnRateLimit === false || attempt >= maxRetries || seconds > maxWait) throw err;
        this.o.logger.warn({ method, retryAfterSeconds: seconds }, 'slack rate limit (429): waiting Retry-After');
        await (this.o.sleep ?? defaultSleep)(Math.max(seconds, 0) * 1000);
      }
    }
  }

  private markFatal(method: string, err: unknown): AdapterFatalError {
    const code = slackErrorOf(err) ?? 'unknown';
    this.fatal ??= new AdapterFatalError(
      'SLACK_AUTH_REJECTED',
      `Slack refused the token of bot "${this.o.botId}" (${code} on ${method}): check SLACK_BOT_TOKEN (an xoxb- bot token of an installed app) or reinstall the app; the bot is stopped`,
      { cause: err },
    );
    this.o.logger.error({ method, error: describeSlackError(err) }, 'slack refused the bot token; stopping the bot');
    this.o.onFatal?.(this.fatal);
    return this.fatal;
  }
}
