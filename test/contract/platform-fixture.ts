/**
 * What the adapter conformance suite needs from a platform: its fake server (real wire protocol,
 * the real SDK inside the adapter talks to it), a bots.yaml entry pointing at it, and ways to make
 * users talk and to see what the bot did. Each platform implements one in
 * `test/helpers/<platform>-fixture.ts` and a three-line `test/contract/adapter-<platform>.test.ts`.
 */

/** One inbound message the fake delivered; opaque to the suite. */
export interface FixtureEvent {
  /** The platform's message id as the adapter reports it (`InboundMessage.messageId`). */
  readonly messageId: string;
  /** Where the bot answers it (DM channel, group, thread), in the fixture's own terms. */
  readonly conversation: string;
}

/** A message the bot posted, as users see it now. */
export interface PostedMessage {
  /** What the platform holds (its markup included). */
  text: string;
  /** When it was posted, and when each edit came (ms since the epoch). */
  postedAt: number;
  editedAt: number[];
}

export interface PlatformFixture {
  readonly platform: string;
  /** Starts the fake platform; called before each test. */
  start(): Promise<void>;
  close(): Promise<void>;
  /**
   * The bot's bots.yaml entry without `platform`, pointing at the fake, with fast timings (edit
   * interval ≤ 200 ms, typing interval ≤ 300 ms). Values are written as YAML flow (JSON).
   */
  entry(): Record<string, unknown>;
  /** Environment the bot process needs (its credentials, by the platform's variable names). */
  env(): Record<string, string>;
  /** Every secret in `entry()`/`env()`: none may appear in any output line. */
  secrets(): string[];
  /** The CLI's ready line. */
  readonly ready: RegExp;
  /** A user id, as `InboundMessage.userId` will carry it (`bot_<platform>_<it>`). */
  user(n: number): string;
  /** User `user` writes to the bot directly. */
  direct(user: string, text: string): Promise<FixtureEvent>;
  /** User `user` writes in a group/channel, mentioning the bot or not. */
  group(user: string, text: string, options: { mention: boolean }): Promise<FixtureEvent>;
  /** The platform delivers the same event again (a retry or a replay), with the same id. */
  redeliver(event: FixtureEvent): Promise<void>;
  /** Whether the platform holds an acknowledgement for the event; undefined: the platform has no acks. */
  acked(event: FixtureEvent): boolean | undefined;
  /** What the bot posted in the event's conversation, oldest first. */
  posted(event: FixtureEvent): PostedMessage[];
  /** When the bot showed "typing…" (or its status) in the event's conversation. */
  typing(event: FixtureEvent): number[];
  /** True when `text` (as posted) has no code block cut open or closed. */
  wellFormed(text: string): boolean;
  /** Length of posted `text` in the platform's unit (what its limit counts). */
  length(text: string): number;
}
